/* pregenerate.c — TinyBERT pregenerated-data loop (see pregenerate.h). The
 * function names follow TinyBERT/pregenerate_training_data.py. */
#include "pregenerate.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define CONT 0x80000000u          /* token flag: continues the previous word (segmenter) */
#define IDMASK 0x7fffffffu

/* an append-only temp file (unlinked at creation) mapped read-only at the end */
typedef struct { int fd; FILE *f; void *map; size_t bytes; } tmpf;

struct rt_pg_corpus {
    int64_t V;                    /* vocabulary ids; pseudo ids follow */
    char **json;                  /* V + NPSEUDO quoted JSON strings */
    uint32_t *jlen;
    uint8_t *flags;               /* 1: [CLS]/[SEP] text, 2: starts with "##" */
    tmpf tok, sent, doc;          /* uint32 ids, int64 sentence ends, int64 doc ends */
    int64_t ntok, nsent, ndoc, doc_start_sent;
    const uint32_t *T; const int64_t *S, *D;
    bool finished;
};

enum { P_CLS, P_SEP, P_MASK, P_DOT, P_UNK, NPSEUDO };
static const char *pseudo_text[NPSEUDO] = {"[CLS]", "[SEP]", "[MASK]", ".", "[UNK]"};

/* ---------- JSON strings as Python's json.dumps(ensure_ascii=True) ---------- */

static size_t put_u(char *o, unsigned u) {
    static const char hx[] = "0123456789abcdef";
    o[0] = '\\'; o[1] = 'u';
    o[2] = hx[(u >> 12) & 15]; o[3] = hx[(u >> 8) & 15]; o[4] = hx[(u >> 4) & 15]; o[5] = hx[u & 15];
    return 6;
}

/* quoted, escaped copy of s[0..n) (malloc'ed), length in *len */
static char *json_quote(const char *s, size_t n, uint32_t *len) {
    char *o = malloc(n * 12 + 3), *p = o;
    if (!o) return NULL;
    *p++ = '"';
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        if (c < 0x80) {
            i++;
            if (c == '"') { *p++ = '\\'; *p++ = '"'; }
            else if (c == '\\') { *p++ = '\\'; *p++ = '\\'; }
            else if (c == '\n') { *p++ = '\\'; *p++ = 'n'; }
            else if (c == '\r') { *p++ = '\\'; *p++ = 'r'; }
            else if (c == '\t') { *p++ = '\\'; *p++ = 't'; }
            else if (c == '\b') { *p++ = '\\'; *p++ = 'b'; }
            else if (c == '\f') { *p++ = '\\'; *p++ = 'f'; }
            else if (c < 0x20 || c == 0x7f) p += put_u(p, c);
            else *p++ = (char)c;
            continue;
        }
        int k = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : 0;
        unsigned cp = k == 3 ? c & 7 : k == 2 ? c & 15 : c & 31;
        bool ok = k > 0;
        for (int j = 1; ok && j <= k; j++) {
            if (i + (size_t)j >= n || (u[i + j] & 0xc0) != 0x80) ok = false;
            else cp = (cp << 6) | (u[i + j] & 63);
        }
        if (!ok) { p += put_u(p, c); i++; continue; }   /* stray byte: escaped as is */
        i += (size_t)k + 1;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            p += put_u(p, 0xd800 + (cp >> 10));
            p += put_u(p, 0xdc00 + (cp & 0x3ff));
        } else p += put_u(p, cp);
    }
    *p++ = '"';
    *len = (uint32_t)(p - o);
    return o;
}

/* ---------- temp files ---------- */

static rt_status tmp_open(tmpf *t, const char *dir, const char *what) {
    char path[4096];
    snprintf(path, sizeof path, "%s/.pregenerate.%s.XXXXXX", dir, what);
    t->fd = mkstemp(path);
    if (t->fd < 0) return rt_errorf(RT_EIO, "pregenerate: cannot create a temporary file in %s: %s", dir, strerror(errno));
    unlink(path);                 /* gone when closed, also after a crash */
    t->f = fdopen(t->fd, "w+b");
    if (!t->f) { close(t->fd); t->fd = -1; return rt_errorf(RT_EIO, "pregenerate: fdopen: %s", strerror(errno)); }
    setvbuf(t->f, NULL, _IOFBF, 1 << 20);
    return RT_OK;
}

static rt_status tmp_put(tmpf *t, const void *p, size_t n) {
    if (n && fwrite(p, 1, n, t->f) != n) return rt_errorf(RT_EIO, "pregenerate: writing a temporary file: %s", strerror(errno));
    t->bytes += n;
    return RT_OK;
}

static rt_status tmp_map(tmpf *t) {
    if (fflush(t->f)) return rt_errorf(RT_EIO, "pregenerate: flushing a temporary file: %s", strerror(errno));
    if (!t->bytes) return RT_OK;
    t->map = mmap(NULL, t->bytes, PROT_READ, MAP_SHARED, t->fd, 0);
    if (t->map == MAP_FAILED) { t->map = NULL; return rt_errorf(RT_EIO, "pregenerate: mmap: %s", strerror(errno)); }
    return RT_OK;
}

static void tmp_close(tmpf *t) {
    if (t->map) munmap(t->map, t->bytes);
    if (t->f) fclose(t->f);
    else if (t->fd >= 0) close(t->fd);
}

/* ---------- corpus ---------- */

rt_pg_corpus *rt_pg_corpus_new(const rt_tokenizer *tok, const char *tmpdir) {
    rt_pg_corpus *c = calloc(1, sizeof *c);
    if (!c) { rt_errorf(RT_ENOMEM, "out of memory"); return NULL; }
    c->tok.fd = c->sent.fd = c->doc.fd = -1;
    c->V = rt_vocab_size(tok->vocab);
    int64_t N = c->V + NPSEUDO;
    c->json = calloc((size_t)N, sizeof *c->json);
    c->jlen = calloc((size_t)N, sizeof *c->jlen);
    c->flags = calloc((size_t)N, 1);
    if (!c->json || !c->jlen || !c->flags) goto oom;
    for (int64_t i = 0; i < N; i++) {
        size_t n;
        const char *s = i < c->V ? rt_vocab_token(tok->vocab, i, &n) : pseudo_text[i - c->V];
        if (i >= c->V) n = strlen(s);
        if (!(c->json[i] = json_quote(s, n, &c->jlen[i]))) goto oom;
        if ((n == 5 && (!memcmp(s, "[CLS]", 5) || !memcmp(s, "[SEP]", 5)))) c->flags[i] |= 1;
        if (n >= 2 && s[0] == '#' && s[1] == '#') c->flags[i] |= 2;
    }
    if (tmp_open(&c->tok, tmpdir, "tokens") || tmp_open(&c->sent, tmpdir, "sentences") ||
        tmp_open(&c->doc, tmpdir, "documents")) { rt_pg_corpus_free(c); return NULL; }
    return c;
oom:
    rt_pg_corpus_free(c);
    rt_errorf(RT_ENOMEM, "out of memory");
    return NULL;
}

void rt_pg_corpus_free(rt_pg_corpus *c) {
    if (!c) return;
    if (c->json) for (int64_t i = 0; i < c->V + NPSEUDO; i++) free(c->json[i]);
    free(c->json); free(c->jlen); free(c->flags);
    tmp_close(&c->tok); tmp_close(&c->sent); tmp_close(&c->doc);
    free(c);
}

int64_t rt_pg_corpus_docs(const rt_pg_corpus *c) { return c->ndoc; }
int64_t rt_pg_corpus_sentences(const rt_pg_corpus *c) { return c->nsent; }
int64_t rt_pg_corpus_tokens(const rt_pg_corpus *c) { return c->ntok; }

/* Python str.strip() == "": every code point is whitespace (str.isspace) */
static bool blank_line(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        unsigned c = u[i];
        if (c < 0x80) {
            if (!(c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f))) return false;
            i++;
            continue;
        }
        unsigned cp;
        if (c >= 0xe0 && c < 0xf0 && i + 2 < n) { cp = ((c & 15) << 12) | ((u[i + 1] & 63) << 6) | (u[i + 2] & 63); i += 3; }
        else if (c >= 0xc0 && c < 0xe0 && i + 1 < n) { cp = ((c & 31) << 6) | (u[i + 1] & 63); i += 2; }
        else return false;
        if (!(cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
              cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000)) return false;
    }
    return true;
}

typedef struct { const rt_tokenizer *tok; rt_ids *out; rt_status st; } seg_ctx;

/* one segmenter word: its tokens; pieces after the first of a CJK word continue it */
static int seg_word(void *ctx, const char *w, size_t nb) {
    seg_ctx *s = ctx;
    size_t before = s->out->n;
    if ((s->st = rt_tokenize_ids(s->tok, w, nb, s->out))) return 1;
    if ((unsigned char)w[0] >= 0xe0)
        for (size_t i = before + 1; i < s->out->n; i++) s->out->v[i] |= CONT;
    return 0;
}

static rt_status tokenize_line(const rt_tokenizer *tok, const rt_segmenter *seg, const char *s, size_t n, rt_ids *out) {
    if (!seg) return rt_tokenize_ids(tok, s, n, out);
    seg_ctx sc = {tok, out, RT_OK};
    rt_status st = rt_segment_cut(seg, s, n, RT_SEG_DAG, seg_word, &sc);
    return sc.st ? sc.st : st;
}

static rt_status end_doc(rt_pg_corpus *c) {
    if (c->nsent == c->doc_start_sent) return RT_OK;         /* add_document skips empty docs */
    c->ndoc++;
    c->doc_start_sent = c->nsent;
    return tmp_put(&c->doc, &c->nsent, sizeof c->nsent);
}

rt_status rt_pg_corpus_feed(rt_pg_corpus *c, const rt_tokenizer *tok, const rt_segmenter *seg,
                            const char *buf, size_t n, int nthreads) {
    if (c->finished) return rt_errorf(RT_EINVAL, "pregenerate: corpus already finished");
    /* split into lines */
    size_t nl = 0, cap = 1024;
    size_t *ls = malloc(cap * sizeof *ls), *le = malloc(cap * sizeof *le);
    if (!ls || !le) { free(ls); free(le); return rt_errorf(RT_ENOMEM, "out of memory"); }
    for (size_t i = 0; i < n;) {
        const char *e = memchr(buf + i, '\n', n - i);
        size_t j = e ? (size_t)(e - buf) : n;
        if (nl == cap) {
            cap *= 2;
            size_t *a = realloc(ls, cap * sizeof *ls), *b = a ? realloc(le, cap * sizeof *le) : NULL;
            if (a) ls = a;
            if (!b) { free(ls); free(le); return rt_errorf(RT_ENOMEM, "out of memory"); }
            le = b;
        }
        ls[nl] = i; le[nl] = j; nl++;
        i = j + 1;
    }
    int T = nthreads < 1 ? 1 : nthreads;
    if ((size_t)T > nl / 64 + 1) T = (int)(nl / 64 + 1);
    rt_ids *ids = calloc((size_t)T, sizeof *ids);
    int64_t *cnt = malloc((nl ? nl : 1) * sizeof *cnt);     /* tokens per line, -1 = blank */
    rt_status *sts = calloc((size_t)T, sizeof *sts);
    if (!ids || !cnt || !sts) { free(ls); free(le); free(ids); free(cnt); free(sts); return rt_errorf(RT_ENOMEM, "out of memory"); }
    #pragma omp parallel for num_threads(T) schedule(static, 1)
    for (int t = 0; t < T; t++) {
        size_t a = nl * (size_t)t / (size_t)T, b = nl * (size_t)(t + 1) / (size_t)T;
        for (size_t k = a; k < b && !sts[t]; k++) {
            const char *s = buf + ls[k];
            size_t len = le[k] - ls[k];
            if (blank_line(s, len)) { cnt[k] = -1; continue; }
            size_t before = ids[t].n;
            sts[t] = tokenize_line(tok, seg, s, len, &ids[t]);
            cnt[k] = (int64_t)(ids[t].n - before);
        }
    }
    rt_status st = RT_OK;
    for (int t = 0; t < T && !st; t++) if (sts[t]) st = sts[t];
    for (int t = 0; t < T && !st; t++) {
        size_t a = nl * (size_t)t / (size_t)T, b = nl * (size_t)(t + 1) / (size_t)T, off = 0;
        uint32_t tmp[512];
        for (size_t k = a; k < b && !st; k++) {
            if (cnt[k] < 0) { st = end_doc(c); continue; }
            for (int64_t j = 0; j < cnt[k] && !st; j += 512) {
                int64_t m = cnt[k] - j < 512 ? cnt[k] - j : 512;
                for (int64_t q = 0; q < m; q++) {
                    int64_t v = ids[t].v[off + (size_t)(j + q)];
                    tmp[q] = v < 0 ? (uint32_t)(c->V + P_UNK) : (uint32_t)v;   /* id | CONT */
                }
                st = tmp_put(&c->tok, tmp, (size_t)m * sizeof *tmp);
            }
            off += (size_t)cnt[k];
            c->ntok += cnt[k];
            c->nsent++;
            if (!st) st = tmp_put(&c->sent, &c->ntok, sizeof c->ntok);
        }
    }
    for (int t = 0; t < T; t++) rt_ids_free(&ids[t]);
    free(ids); free(cnt); free(sts); free(ls); free(le);
    return st;
}

rt_status rt_pg_corpus_finish(rt_pg_corpus *c) {
    if (c->finished) return RT_OK;
    rt_status st = end_doc(c);
    if (!st) st = tmp_map(&c->tok);
    if (!st) st = tmp_map(&c->sent);
    if (!st) st = tmp_map(&c->doc);
    if (st) return st;
    c->T = c->tok.map; c->S = c->sent.map; c->D = c->doc.map;
    c->finished = true;
    return RT_OK;
}

/* ---------- random numbers: one xoshiro256** stream per (seed, epoch, document) ---------- */

typedef struct { uint64_t s[4]; } rng;

static uint64_t splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void rng_init(rng *r, uint64_t seed, int epoch, int64_t doc) {
    uint64_t x = seed;
    uint64_t a = splitmix(&x);
    x = a ^ ((uint64_t)(epoch + 1) * 0xC2B2AE3D27D4EB4Full);
    uint64_t b = splitmix(&x);
    x = b ^ ((uint64_t)(doc + 1) * 0x165667B19E3779F9ull);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t next64(rng *r) {
    uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3]; s[2] ^= t; s[3] = rotl(s[3], 45);
    return res;
}

/* random.random(): [0, 1) with 53 bits */
static inline double rnd(rng *r) { return (double)(next64(r) >> 11) * 0x1.0p-53; }

/* uniform in [0, n), n >= 1 (Lemire's unbiased multiply-shift) */
static inline uint64_t below(rng *r, uint64_t n) {
    unsigned __int128 m = (unsigned __int128)next64(r) * n;
    uint64_t lo = (uint64_t)m;
    if (lo < n) {
        uint64_t th = -n % n;
        while (lo < th) { m = (unsigned __int128)next64(r) * n; lo = (uint64_t)m; }
    }
    return (uint64_t)(m >> 64);
}

/* ---------- instances ---------- */

typedef struct {
    uint32_t *a, *b, *tok;        /* tokens_a, tokens_b, [CLS] a [SEP] b [SEP] */
    size_t acap, bcap, tcap;
    int *gstart, *gidx, *perm, *mpos;
    uint32_t *mlab;
    size_t icap;
    rt_pg_buf out;
    rt_pg_stats st;
    rt_status status;
} scratch;

static int grow_u32(uint32_t **p, size_t *cap, size_t need) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    uint32_t *q = realloc(*p, c * sizeof *q);
    if (!q) return -1;
    *p = q; *cap = c;
    return 0;
}

static int grow_idx(scratch *w, size_t need) {
    if (need <= w->icap) return 0;
    size_t c = w->icap ? w->icap : 256;
    while (c < need) c *= 2;
    int *a = realloc(w->gstart, (c + 1) * sizeof *a); if (!a) return -1; w->gstart = a;
    a = realloc(w->gidx, c * sizeof *a); if (!a) return -1; w->gidx = a;
    a = realloc(w->perm, c * sizeof *a); if (!a) return -1; w->perm = a;
    a = realloc(w->mpos, c * sizeof *a); if (!a) return -1; w->mpos = a;
    uint32_t *l = realloc(w->mlab, c * sizeof *l); if (!l) return -1; w->mlab = l;
    w->icap = c;
    return 0;
}

static int buf_need(rt_pg_buf *b, size_t more) {
    if (b->n + more <= b->cap) return 0;
    size_t c = b->cap ? b->cap : 1 << 16;
    while (c < b->n + more) c *= 2;
    char *p = realloc(b->p, c);
    if (!p) return -1;
    b->p = p; b->cap = c;
    return 0;
}

void rt_pg_buf_free(rt_pg_buf *b) { free(b->p); memset(b, 0, sizeof *b); }

static inline void put(rt_pg_buf *b, const char *s, size_t n) { memcpy(b->p + b->n, s, n); b->n += n; }
#define PUTS(b, lit) put(b, lit, sizeof(lit) - 1)

static inline void put_int(rt_pg_buf *b, int v) {
    char t[16];
    int n = 0;
    do { t[n++] = (char)('0' + v % 10); v /= 10; } while (v);
    while (n) b->p[b->n++] = t[--n];
}

static inline int64_t sent_lo(const rt_pg_corpus *c, int64_t k) { return k ? c->S[k - 1] : 0; }
static inline int64_t doc_lo(const rt_pg_corpus *c, int64_t d) { return d ? c->D[d - 1] : 0; }

/* DocumentDatabase.sample_doc(current_idx, sentence_weighted=True) */
static int64_t sample_doc(const rt_pg_corpus *c, int64_t cur, rng *r) {
    int64_t max = c->D[c->ndoc - 1], len = c->D[cur] - doc_lo(c, cur);
    int64_t start = c->D[cur], span = max - len;                 /* randrange(start, start + span) */
    int64_t s = (start + (int64_t)below(r, (uint64_t)span)) % max;
    int64_t lo = 0, hi = c->ndoc;                                 /* searchsorted(cumsum, s, 'right') */
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (c->D[mid] <= s) lo = mid + 1; else hi = mid;
    }
    return lo;
}

/* append sentences [s0, s1) to *dst */
static int append_sents(const rt_pg_corpus *c, int64_t s0, int64_t s1, uint32_t **dst, size_t *n, size_t *cap) {
    int64_t t0 = sent_lo(c, s0), t1 = s1 ? c->S[s1 - 1] : 0;
    if (t1 <= t0) return 0;
    if (grow_u32(dst, cap, *n + (size_t)(t1 - t0))) return -1;
    memcpy(*dst + *n, c->T + t0, (size_t)(t1 - t0) * sizeof **dst);
    *n += (size_t)(t1 - t0);
    return 0;
}

/* create_masked_lm_predictions + the JSON line of one instance */
static int emit(const rt_pg_corpus *c, const rt_pg_opts *o, scratch *w, rng *r, const uint32_t *a, size_t na,
                const uint32_t *b, size_t nb, bool random_next) {
    size_t n = na + nb + 3;
    if (grow_u32(&w->tok, &w->tcap, n) || grow_idx(w, n)) return -1;
    uint32_t *t = w->tok, V = (uint32_t)c->V;
    t[0] = V + P_CLS;
    for (size_t i = 0; i < na; i++) t[1 + i] = a[i];
    t[1 + na] = V + P_SEP;
    for (size_t i = 0; i < nb; i++) t[2 + na + i] = b[i];
    t[n - 1] = V + P_SEP;
    /* candidate groups */
    int ng = 0, ni = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t id = t[i] & IDMASK;
        if (c->flags[id] & 1) continue;
        if (o->whole_word && ng >= 1 && ((c->flags[id] & 2) || (t[i] & CONT))) { w->gidx[ni++] = (int)i; continue; }
        w->gstart[ng++] = ni;
        w->gidx[ni++] = (int)i;
    }
    w->gstart[ng] = ni;
    long want = lrint(nearbyint((double)n * o->masked_lm_prob));   /* Python round: half to even */
    int num = (int)(want < 1 ? 1 : want);
    if (num > o->max_pred) num = o->max_pred;
    for (int g = 0; g < ng; g++) w->perm[g] = g;
    for (int g = ng - 1; g > 0; g--) {                               /* random.shuffle */
        int j = (int)below(r, (uint64_t)g + 1);
        int x = w->perm[g]; w->perm[g] = w->perm[j]; w->perm[j] = x;
    }
    int nm = 0;
    for (int q = 0; q < ng; q++) {
        if (nm >= num) break;
        int g = w->perm[q], len = w->gstart[g + 1] - w->gstart[g];
        if (nm + len > num) continue;
        for (int k = w->gstart[g]; k < w->gstart[g + 1]; k++) {
            int pos = w->gidx[k];
            uint32_t orig = t[pos] & IDMASK, rep;
            if (rnd(r) < 0.8) { rep = V + P_MASK; w->st.mask_token++; }
            else if (rnd(r) < 0.5) { rep = orig; w->st.kept++; }
            else { rep = (uint32_t)below(r, (uint64_t)c->V); w->st.random_token++; }
            int j = nm++;                                            /* insertion by position */
            while (j > 0 && w->mpos[j - 1] > pos) { w->mpos[j] = w->mpos[j - 1]; w->mlab[j] = w->mlab[j - 1]; j--; }
            w->mpos[j] = pos; w->mlab[j] = orig;
            t[pos] = rep;
        }
    }
    /* JSON line */
    size_t need = 160 + (size_t)nm * 8;
    for (size_t i = 0; i < n; i++) need += c->jlen[t[i] & IDMASK] + 5;
    for (int k = 0; k < nm; k++) need += c->jlen[w->mlab[k]] + 2;
    if (buf_need(&w->out, need)) return -1;
    rt_pg_buf *ob = &w->out;
    PUTS(ob, "{\"tokens\": [");
    for (size_t i = 0; i < n; i++) {
        if (i) PUTS(ob, ", ");
        uint32_t id = t[i] & IDMASK;
        put(ob, c->json[id], c->jlen[id]);
    }
    PUTS(ob, "], \"segment_ids\": [");
    for (size_t i = 0; i < n; i++) {
        if (i) PUTS(ob, ", ");
        ob->p[ob->n++] = i < na + 2 ? '0' : '1';
    }
    if (random_next) PUTS(ob, "], \"is_random_next\": true, \"masked_lm_positions\": [");
    else PUTS(ob, "], \"is_random_next\": false, \"masked_lm_positions\": [");
    for (int k = 0; k < nm; k++) { if (k) PUTS(ob, ", "); put_int(ob, w->mpos[k]); }
    PUTS(ob, "], \"masked_lm_labels\": [");
    for (int k = 0; k < nm; k++) { if (k) PUTS(ob, ", "); put(ob, c->json[w->mlab[k]], c->jlen[w->mlab[k]]); }
    PUTS(ob, "]}\n");
    w->st.instances++;
    w->st.random_next += random_next;
    w->st.tokens += (int64_t)n;
    w->st.masked += nm;
    w->st.len_hist[n < RT_PG_HIST ? n : RT_PG_HIST - 1]++;
    return 0;
}

/* create_instances_from_document */
static int doc_instances(const rt_pg_corpus *c, const rt_pg_opts *o, int epoch, int64_t d, scratch *w) {
    rng r;
    rng_init(&r, o->seed, epoch, d);
    int64_t s0 = doc_lo(c, d), ns = c->D[d] - s0;
    int max_num = o->max_seq_len - 3;
    int64_t target = max_num;
    if (rnd(&r) < o->short_seq_prob) {
        target = 2 + (int64_t)below(&r, (uint64_t)(max_num - 2 + 1));   /* randint(2, max_num) */
        w->st.target_short++;
    }
    uint32_t dot = (uint32_t)c->V + P_DOT;
    int64_t i = 0, cs = 0, cur_len = 0;
    while (i < ns) {
        cur_len += c->S[s0 + i] - sent_lo(c, s0 + i);
        bool reset = false;
        if (i == ns - 1 || cur_len >= target) {
            int64_t nchunk = i - cs + 1;
            int64_t a_end = nchunk >= 2 ? 1 + (int64_t)below(&r, (uint64_t)(nchunk - 1)) : 1;
            size_t na = 0, nb = 0;
            if (append_sents(c, s0 + cs, s0 + cs + a_end, &w->a, &na, &w->acap)) return -1;
            bool random_next = false;
            if (!o->one_seq && (nchunk == 1 || rnd(&r) < 0.5)) {
                random_next = true;
                w->st.forced_random += nchunk == 1;
                int64_t target_b = target - (int64_t)na;
                int64_t rd = sample_doc(c, d, &r), r0 = doc_lo(c, rd), rn = c->D[rd] - r0;
                int64_t start = (int64_t)below(&r, (uint64_t)rn);
                for (int64_t j = start; j < rn; j++) {
                    if (append_sents(c, r0 + j, r0 + j + 1, &w->b, &nb, &w->bcap)) return -1;
                    if ((int64_t)nb >= target_b) break;
                }
                i -= nchunk - a_end;          /* put the unused segments back */
            } else {
                if (append_sents(c, s0 + cs + a_end, s0 + cs + nchunk, &w->b, &nb, &w->bcap)) return -1;
            }
            if (!na) { if (grow_u32(&w->a, &w->acap, 1)) return -1; w->a[0] = dot; na = 1; }
            if (!nb) { if (grow_u32(&w->b, &w->bcap, 1)) return -1; w->b[0] = dot; nb = 1; }
            /* truncate_seq_pair */
            size_t alo = 0, ahi = na, blo = 0, bhi = nb;
            while ((ahi - alo) + (bhi - blo) > (size_t)max_num) {
                bool ta = (ahi - alo) > (bhi - blo);
                if (rnd(&r) < 0.5) { if (ta) alo++; else blo++; }
                else { if (ta) ahi--; else bhi--; }
            }
            if (emit(c, o, w, &r, w->a + alo, ahi - alo, w->b + blo, bhi - blo, random_next)) return -1;
            reset = true;
            cur_len = 0;
        }
        i++;
        if (reset) cs = i;
    }
    return 0;
}

rt_status rt_pg_generate(const rt_pg_corpus *c, const rt_pg_opts *o, int epoch, int64_t lo, int64_t hi,
                         int nthreads, rt_pg_buf *out, rt_pg_stats *st) {
    if (!c->finished) return rt_errorf(RT_EINVAL, "pregenerate: corpus not finished");
    if (c->ndoc < 2)
        return rt_errorf(RT_EINVAL, "pregenerate: the corpus has %lld document(s); at least 2 are needed "
                         "(separate documents with a blank line)", (long long)c->ndoc);
    if (o->max_seq_len < 5) return rt_errorf(RT_EINVAL, "pregenerate: max_seq_len %d is too small (>= 5)", o->max_seq_len);
    if (lo < 0) lo = 0;
    if (hi > c->ndoc) hi = c->ndoc;
    if (hi <= lo) return RT_OK;
    int T = nthreads < 1 ? 1 : nthreads;
    if (T > hi - lo) T = (int)(hi - lo);
    scratch *w = calloc((size_t)T, sizeof *w);
    if (!w) return rt_errorf(RT_ENOMEM, "out of memory");
    #pragma omp parallel for num_threads(T) schedule(static, 1)
    for (int t = 0; t < T; t++) {
        int64_t a = lo + (hi - lo) * t / T, b = lo + (hi - lo) * (t + 1) / T;
        for (int64_t d = a; d < b; d++)
            if (doc_instances(c, o, epoch, d, &w[t])) { w[t].status = RT_ENOMEM; break; }
    }
    rt_status s = RT_OK;
    for (int t = 0; t < T; t++) {
        if (w[t].status && !s) s = rt_errorf(RT_ENOMEM, "pregenerate: out of memory");
        if (!s && w[t].out.n) {
            if (buf_need(out, w[t].out.n)) s = rt_errorf(RT_ENOMEM, "pregenerate: out of memory");
            else put(out, w[t].out.p, w[t].out.n);
        }
        rt_pg_stats *x = &w[t].st;
        st->instances += x->instances; st->random_next += x->random_next; st->forced_random += x->forced_random;
        st->tokens += x->tokens; st->masked += x->masked; st->mask_token += x->mask_token; st->kept += x->kept;
        st->random_token += x->random_token; st->target_short += x->target_short;
        for (int k = 0; k < RT_PG_HIST; k++) st->len_hist[k] += x->len_hist[k];
        free(w[t].a); free(w[t].b); free(w[t].tok); free(w[t].gstart); free(w[t].gidx); free(w[t].perm);
        free(w[t].mpos); free(w[t].mlab); free(w[t].out.p);
    }
    free(w);
    return s;
}
