/* create_pretraining.c — documents, instances, masking and Example encoding of
 * BERT/NEZHA create_pretraining_data (see create_pretraining.h). The steps and
 * the order of random draws follow NEZHA-TensorFlow/utils/create_pretraining_data.py;
 * whole-word masking follows the later Google BERT version of the same script. */
#include "create_pretraining.h"
#include "pretrain_shards.h"
#include "../io/ioutil.h"
#include "../io/tfrecord.h"
#include "../text/unicode.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONT 0x80000000u             /* token flag: continues the previous word */

typedef struct { size_t off; uint32_t len; uint32_t pad_; } inst_ref;
typedef struct { int32_t off, len; } group;

struct rt_cpd {
    const rt_tokenizer *tok;
    const rt_segmenter *seg;
    rt_cpd_opts o;
    rt_pyrandom rng;
    int32_t *words; int64_t nwords;          /* list(vocab.keys()) as ids */
    int32_t cls, sep, mask;
    /* the buffered block: tokens (id | CONT), sentences, documents */
    uint32_t *tk; size_t ntk, captk;
    size_t *soff; size_t nsent, capsent;     /* soff[nsent] = ntk */
    size_t *dsent; size_t ndoc, capdoc;      /* dsent[ndoc] = nsent */
    int doc_open;
    size_t block_bytes;
    /* encoded instances of the block */
    uint8_t *arena; size_t narena, caparena;
    inst_ref *inst; size_t ninst, capinst;
    /* outputs */
    rt_tfrecord_writer **w; int nw, widx;
    rt_shard_writer **sw;                    /* o.shards */
    rt_cpd_stats st;
    /* scratch */
    rt_ids ids;
    uint32_t *line_tk; size_t nline, capline;
    char *run; size_t nrun, caprun;          /* UTF-8 of a run of CJK characters */
    size_t run_first;                        /* index in line_tk of the run's first token */
    size_t seg_pos; int seg_ok;
    int32_t *itok, *iseg, *pos, *lab, *gidx, *order;
    uint8_t *icont, *masked;
    group *groups;
    uint8_t *ex;
};

static rt_status oom(void) { return rt_errorf(RT_ENOMEM, "create_pretraining_data: out of memory"); }

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t c = *cap ? *cap : 256;
    while (c < need) c *= 2;
    void *q = realloc(*p, c * elem);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

size_t rt_cpd_example_bound(int S, int P) {
    return (size_t)(2 * S + 2 * P + 1) * 5 + (size_t)P * 4 + 7 * 64 + 32;
}

void rt_cpd_free(rt_cpd *c) {
    if (!c) return;
    for (int i = 0; i < c->nw; i++) {
        if (c->w) rt_tfrecord_writer_abort(c->w[i]);
        if (c->sw) rt_shard_writer_abort(c->sw[i]);
    }
    free(c->w);
    free(c->sw);
    free(c->words); free(c->tk); free(c->soff); free(c->dsent); free(c->arena); free(c->inst);
    rt_ids_free(&c->ids);
    free(c->line_tk); free(c->run);
    free(c->itok); free(c->iseg); free(c->pos); free(c->lab); free(c->gidx); free(c->order);
    free(c->icont); free(c->masked); free(c->groups); free(c->ex);
    free(c->st.len_hist);
    free(c);
}

rt_cpd *rt_cpd_new(const rt_tokenizer *tok, const rt_segmenter *seg, const rt_cpd_opts *o,
                   const char *const *outputs, int noutputs) {
    const char *missing = tok->cls_id < 0 ? "[CLS]" : tok->sep_id < 0 ? "[SEP]" : tok->mask_id < 0 ? "[MASK]" : NULL;
    if (missing) { rt_errorf(RT_EINVAL, "create_pretraining_data: the vocabulary has no %s token", missing); return NULL; }
    if (o->max_seq_length < 5 || o->max_seq_length > 1 << 20) {
        rt_errorf(RT_EINVAL, "create_pretraining_data: max_seq_length %d must be in [5, 2^20]", o->max_seq_length);
        return NULL;
    }
    if (o->max_predictions_per_seq < 0 || o->max_predictions_per_seq > 1 << 20 || o->dupe_factor < 0 ||
        !(o->masked_lm_prob >= 0 && o->masked_lm_prob <= 1) || !(o->short_seq_prob >= 0 && o->short_seq_prob <= 1)) {
        rt_errorf(RT_EINVAL, "create_pretraining_data: need 0 <= max_predictions_per_seq <= 2^20, dupe_factor >= 0, "
                  "probabilities in [0, 1]");
        return NULL;
    }
    if (noutputs < 1) { rt_errorf(RT_EINVAL, "create_pretraining_data: no output file"); return NULL; }
    rt_cpd *c = calloc(1, sizeof *c);
    if (!c) { oom(); return NULL; }
    c->tok = tok; c->seg = seg; c->o = *o;
    c->cls = (int32_t)tok->cls_id; c->sep = (int32_t)tok->sep_id; c->mask = (int32_t)tok->mask_id;
    rt_pyrandom_seed(&c->rng, o->rng, o->seed);
    int S = o->max_seq_length, P = o->max_predictions_per_seq;
    int64_t V = rt_vocab_size(tok->vocab);
    /* vocab_words = list(vocab.keys()): first occurrence order; the id is the dict's (last line) */
    uint8_t *seen = calloc((size_t)(V ? V : 1), 1);
    c->words = malloc((size_t)(V ? V : 1) * sizeof *c->words);
    c->st.len_hist = calloc((size_t)S + 1, sizeof *c->st.len_hist);
    c->itok = malloc((size_t)S * 4); c->iseg = malloc((size_t)S * 4);
    c->pos = malloc((size_t)(S + 1) * 4); c->lab = malloc((size_t)(S + 1) * 4);
    c->gidx = malloc((size_t)S * 4); c->groups = malloc((size_t)S * sizeof *c->groups);
    c->icont = malloc((size_t)S); c->masked = malloc((size_t)S);
    c->ex = malloc(rt_cpd_example_bound(S, P));
    c->w = calloc((size_t)noutputs, sizeof *c->w);
    c->sw = o->shards ? calloc((size_t)noutputs, sizeof *c->sw) : NULL;
    c->soff = malloc(sizeof *c->soff); c->capsent = 1;
    c->dsent = malloc(sizeof *c->dsent); c->capdoc = 1;
    if (!seen || !c->words || !c->st.len_hist || !c->itok || !c->iseg || !c->pos || !c->lab || !c->gidx ||
        !c->groups || !c->icont || !c->masked || !c->ex || !c->w || (o->shards && !c->sw) || !c->soff || !c->dsent) {
        free(seen); rt_cpd_free(c); oom(); return NULL;
    }
    c->soff[0] = 0; c->dsent[0] = 0;
    for (int64_t i = 0; i < V; i++) {
        size_t len;
        const char *t = rt_vocab_token(tok->vocab, i, &len);
        int64_t id = rt_vocab_find(tok->vocab, t, len);
        if (id < 0 || seen[id]) continue;
        seen[id] = 1;
        c->words[c->nwords++] = (int32_t)id;
    }
    free(seen);
    for (int i = 0; i < noutputs; i++) {
        if (o->shards ? !(c->sw[i] = rt_shard_writer_open(outputs[i], S, P)) : !(c->w[i] = rt_tfrecord_writer_open(outputs[i]))) {
            rt_cpd_free(c);
            return NULL;
        }
        c->nw = i + 1;
    }
    return c;
}

const rt_cpd_stats *rt_cpd_get_stats(const rt_cpd *c) { return &c->st; }

/* ---- reading: Python str.strip() whitespace, tokenization with word flags ---- */

static int py_space(uint32_t cp) {
    return (cp >= 9 && cp <= 13) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 || cp == 0xa0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
           cp == 0x3000;
}

/* Decode the (valid) UTF-8 character at s[0..n); its length in *k, or 0 if invalid. */
static uint32_t dec1(const unsigned char *s, size_t n, size_t *k) {
    uint32_t cp; size_t len;
    if (s[0] < 0x80) { *k = 1; return s[0]; }
    if ((s[0] & 0xe0) == 0xc0) { cp = s[0] & 0x1f; len = 2; }
    else if ((s[0] & 0xf0) == 0xe0) { cp = s[0] & 0x0f; len = 3; }
    else if ((s[0] & 0xf8) == 0xf0) { cp = s[0] & 0x07; len = 4; }
    else { *k = 0; return 0; }
    if (len > n) { *k = 0; return 0; }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) { *k = 0; return 0; }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    *k = len;
    return cp;
}

static void py_strip(const char **line, size_t *n) {
    const unsigned char *s = (const unsigned char *)*line;
    size_t a = 0, b = *n, k;
    while (a < b) { uint32_t cp = dec1(s + a, b - a, &k); if (!k || !py_space(cp)) break; a += k; }
    while (b > a) {
        size_t st = b - 1;
        while (st > a && (s[st] & 0xc0) == 0x80 && b - st < 4) st--;
        uint32_t cp = dec1(s + st, b - st, &k);
        if (!k || st + k != b || !py_space(cp)) break;
        b = st;
    }
    *line = (const char *)s + a;
    *n = b - a;
}

static int push_line_tok(rt_cpd *c, uint32_t v) {
    if (grow((void **)&c->line_tk, &c->capline, c->nline + 1, 4)) return -1;
    c->line_tk[c->nline++] = v;
    return 0;
}

static int seg_word(void *ctx, const char *w, size_t nb) {
    rt_cpd *c = ctx;
    size_t nch = rt_utf8_len(w, nb);
    for (size_t k = 0; k < nch; k++) {
        size_t t = c->run_first + c->seg_pos + k;
        if (c->seg_pos + k >= c->nline - c->run_first) { c->seg_ok = 0; return 1; }
        if (k) c->line_tk[t] |= CONT; else c->line_tk[t] &= ~CONT;
    }
    c->seg_pos += nch;
    return 0;
}

/* Group the pending run of CJK characters into segmented words. */
static void flush_run(rt_cpd *c) {
    if (c->nrun && c->seg) {
        c->seg_pos = 0; c->seg_ok = 1;
        if (rt_segment_cut(c->seg, c->run, c->nrun, RT_SEG_DAG, seg_word, c) || !c->seg_ok ||
            c->seg_pos != c->nline - c->run_first)
            for (size_t t = c->run_first; t < c->nline; t++) c->line_tk[t] &= ~CONT;   /* no grouping */
        rt_clear_error();
    }
    c->nrun = 0;
}

static int on_word(void *ctx, const char *word, size_t nbytes, size_t nchars) {
    rt_cpd *c = ctx;
    size_t k;
    int cjk = nchars == 1 && rt_uc_is_cjk(dec1((const unsigned char *)word, nbytes, &k));
    if (!cjk) flush_run(c);
    c->ids.n = 0;
    if (rt_wordpiece(c->tok, word, nbytes, nchars, &c->ids)) return 1;
    for (size_t i = 0; i < c->ids.n; i++) {
        if (c->ids.v[i] < 0) { rt_errorf(RT_EINVAL, "create_pretraining_data: the vocabulary has no [UNK] token"); return 1; }
        if (push_line_tok(c, (uint32_t)c->ids.v[i] | (i ? CONT : 0))) { oom(); return 1; }
    }
    if (cjk) {
        if (!c->nrun) c->run_first = c->nline - c->ids.n;
        if (grow((void **)&c->run, &c->caprun, c->nrun + nbytes, 1)) { oom(); return 1; }
        memcpy(c->run + c->nrun, word, nbytes);
        c->nrun += nbytes;
    }
    return 0;
}

static rt_status flush_block(rt_cpd *c);

rt_status rt_cpd_add_line(rt_cpd *c, const char *line, size_t n) {
    c->st.lines++;
    c->block_bytes += n + 1;
    py_strip(&line, &n);
    if (!n) {                                   /* all_documents.append([]) */
        c->doc_open = 0;
        if (c->o.buffer_bytes && c->block_bytes >= c->o.buffer_bytes) return flush_block(c);
        return RT_OK;
    }
    c->nline = 0; c->nrun = 0;
    rt_status st = rt_basic_tokenize(c->tok, line, n, on_word, c);
    if (st) return rt_last_status() ? rt_last_status() : st;
    flush_run(c);
    if (!c->nline) return RT_OK;
    if (!c->doc_open) {
        if (grow((void **)&c->dsent, &c->capdoc, c->ndoc + 2, sizeof *c->dsent)) return oom();
        c->dsent[c->ndoc++] = c->nsent;
        c->doc_open = 1;
        c->st.documents++;
    }
    if (grow((void **)&c->tk, &c->captk, c->ntk + c->nline, 4) ||
        grow((void **)&c->soff, &c->capsent, c->nsent + 2, sizeof *c->soff)) return oom();
    memcpy(c->tk + c->ntk, c->line_tk, c->nline * 4);
    c->ntk += c->nline;
    c->soff[++c->nsent] = c->ntk;
    c->dsent[c->ndoc] = c->nsent;
    c->st.sentences++;
    c->st.tokens += (int64_t)c->nline;
    return RT_OK;
}

rt_status rt_cpd_read_file(rt_cpd *c, const char *path, int64_t total, rt_cpd_progress fn, void *ctx) {
    FILE *f = fopen(path, "rb");
    if (!f) return rt_errorf(RT_EIO, "%s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t cap = 0;
    ssize_t got;
    int64_t next_report = c->st.bytes_read;
    rt_status st = RT_OK;
    while ((got = getline(&buf, &cap, f)) >= 0) {
        c->st.bytes_read += got;
        size_t n = (size_t)got;
        if (n && buf[n - 1] == '\n') n--;
        if ((st = rt_cpd_add_line(c, buf, n))) { rt_error_prefix("%s:%lld", path, (long long)c->st.lines); break; }
        if (fn && c->st.bytes_read >= next_report) {
            next_report = c->st.bytes_read + (1 << 20);
            if (fn(ctx, c->st.bytes_read, total, c->st.instances)) { st = rt_errorf(RT_EINTR, "interrupted"); break; }
        }
        if (rt_interrupt_flag) { st = rt_errorf(RT_EINTR, "interrupted"); break; }
    }
    if (!st && ferror(f)) st = rt_errorf(RT_EIO, "%s: read error", path);
    free(buf);
    fclose(f);
    return st;
}

/* ---- instances ---- */

static size_t vlen(uint64_t v) { size_t n = 1; while (v >= 0x80) { v >>= 7; n++; } return n; }

typedef struct { const char *name; int kind; const int32_t *v; int n, m; int ones; } featspec;

static size_t packed_len(const featspec *f) {
    if (f->kind == 2) return (size_t)f->m * 4;
    size_t b = 0;
    for (int i = 0; i < f->m; i++) b += i < f->n ? vlen((uint32_t)(f->ones ? 1 : f->v[i])) : 1;
    return b;
}

size_t rt_cpd_encode_example(uint8_t *out, const int32_t *ids, const int32_t *seg, int n, int S,
                             const int32_t *pos, const int32_t *lab, int np, int P, int next_label, int rot) {
    int32_t nl = next_label;
    featspec fs[7] = {
        {"masked_lm_positions", 3, pos, np, P, 0}, {"masked_lm_ids", 3, lab, np, P, 0},
        {"masked_lm_weights", 2, NULL, np, P, 1},  {"segment_ids", 3, seg, n, S, 0},
        {"input_mask", 3, NULL, n, S, 1},          {"input_ids", 3, ids, n, S, 0},
        {"next_sentence_labels", 3, &nl, 1, 1, 0},
    };
    size_t pl[7], ll[7], fl[7], el[7], total = 0;
    for (int i = 0; i < 7; i++) {
        pl[i] = packed_len(&fs[i]);
        ll[i] = fs[i].m ? 1 + vlen(pl[i]) + pl[i] : 0;
        fl[i] = 1 + vlen(ll[i]) + ll[i];
        size_t kl = strlen(fs[i].name);
        el[i] = 1 + vlen(kl) + kl + 1 + vlen(fl[i]) + fl[i];
        total += 1 + vlen(el[i]) + el[i];
    }
    uint8_t *p = out;
    *p++ = 0x0a;
    p += rt_pb_put_varint(p, total);
    rot = ((rot % 7) + 7) % 7;
    for (int j = 0; j < 7; j++) {
        int i = (j + rot) % 7;
        const featspec *f = &fs[i];
        size_t kl = strlen(f->name);
        *p++ = 0x0a; p += rt_pb_put_varint(p, el[i]);
        *p++ = 0x0a; p += rt_pb_put_varint(p, kl);
        memcpy(p, f->name, kl); p += kl;
        *p++ = 0x12; p += rt_pb_put_varint(p, fl[i]);
        *p++ = (uint8_t)(f->kind << 3 | 2); p += rt_pb_put_varint(p, ll[i]);
        if (!f->m) continue;
        *p++ = 0x0a; p += rt_pb_put_varint(p, pl[i]);
        for (int k = 0; k < f->m; k++) {
            if (f->kind == 2) {
                uint32_t u = k < f->n ? 0x3f800000u : 0u;   /* 1.0f / 0.0f */
                rt_wr32(p, u); p += 4;
            } else {
                int32_t v = k < f->n ? (f->ones ? 1 : f->v[k]) : 0;
                p += rt_pb_put_varint(p, (uint32_t)v);
            }
        }
    }
    return (size_t)(p - out);
}

static int cmp_pos(const void *a, const void *b) {
    int32_t x = ((const int32_t *)a)[0], y = ((const int32_t *)b)[0];
    return (x > y) - (x < y);
}

/* create_masked_lm_predictions + the stats; writes the instance into the arena. */
static rt_status finish_instance(rt_cpd *c, int n, int is_random) {
    rt_pyrandom *r = &c->rng;
    int P = c->o.max_predictions_per_seq;
    int ng = 0, nidx = 0;
    for (int i = 0; i < n; i++) {
        if (c->itok[i] == c->cls || c->itok[i] == c->sep) { c->icont[i] = 2; continue; }
        c->gidx[nidx] = i;
        if (c->o.whole_word && ng > 0 && c->icont[i] == 1) c->groups[ng - 1].len++;
        else { c->groups[ng].off = nidx; c->groups[ng].len = 1; ng++; }
        nidx++;
    }
    rt_pyrandom_shuffle(r, c->groups, (size_t)ng, sizeof *c->groups);
    int ntp = (int)nearbyint((double)n * c->o.masked_lm_prob);
    if (ntp < 1) ntp = 1;
    if (ntp > P) ntp = P;
    int nm = 0;
    memset(c->masked, 0, (size_t)n);
    int32_t pairs[2 * 1024], *pr = P <= 1024 ? pairs : NULL;
    if (!pr && !(pr = malloc((size_t)P * 8))) return oom();
    for (int g = 0; g < ng; g++) {
        if (nm >= ntp) break;
        if (nm + c->groups[g].len > ntp) continue;
        for (int k = 0; k < c->groups[g].len; k++) {
            int idx = c->gidx[c->groups[g].off + k];
            int32_t orig = c->itok[idx], nt;
            if (rt_pyrandom_random(r) < 0.8) { nt = c->mask; c->st.as_mask++; }
            else if (rt_pyrandom_random(r) < 0.5) { nt = orig; c->st.as_keep++; }
            else { nt = c->words[rt_pyrandom_randint(r, 0, c->nwords - 1)]; c->st.as_random++; }
            c->itok[idx] = nt;
            c->masked[idx] = 1;
            pr[2 * nm] = idx; pr[2 * nm + 1] = orig;
            nm++;
        }
    }
    qsort(pr, (size_t)nm, 8, cmp_pos);
    for (int k = 0; k < nm; k++) { c->pos[k] = pr[2 * k]; c->lab[k] = pr[2 * k + 1]; }
    if (pr != pairs) free(pr);
    /* stats: words by the word flags (whatever the masking mode) */
    for (int i = 0; i < n;) {
        if (c->icont[i] == 2) { i++; continue; }
        int j = i + 1;
        while (j < n && c->icont[j] == 1) j++;
        int any = 0, all = 1;
        for (int k = i; k < j; k++) { any |= c->masked[k]; all &= c->masked[k]; }
        if (any) { c->st.masked_words++; if (all) c->st.masked_whole_words += j - i; }
        i = j;
    }
    c->st.instances++;
    c->st.real_tokens += n;
    c->st.masked += nm;
    c->st.random_next += is_random;
    c->st.len_hist[n]++;
    size_t bound = rt_cpd_example_bound(c->o.max_seq_length, P);
    if (grow((void **)&c->arena, &c->caparena, c->narena + bound, 1) ||
        grow((void **)&c->inst, &c->capinst, c->ninst + 1, sizeof *c->inst)) return oom();
    size_t len;
    if (c->o.shards) {                        /* a raw record: n, np, next, ids[n], seg[n], pos[np], lab[np] */
        int32_t *q = (int32_t *)(void *)(c->arena + c->narena);
        q[0] = n; q[1] = nm; q[2] = is_random;
        memcpy(q + 3, c->itok, (size_t)n * 4); memcpy(q + 3 + n, c->iseg, (size_t)n * 4);
        memcpy(q + 3 + 2 * n, c->pos, (size_t)nm * 4); memcpy(q + 3 + 2 * n + nm, c->lab, (size_t)nm * 4);
        len = (size_t)(3 + 2 * n + 2 * nm) * 4;
    } else {
        len = rt_cpd_encode_example(c->arena + c->narena, c->itok, c->iseg, n, c->o.max_seq_length,
                                    c->pos, c->lab, nm, P, is_random, 0);
    }
    c->inst[c->ninst].off = c->narena;
    c->inst[c->ninst].len = (uint32_t)len;
    c->ninst++;
    c->narena += (len + 7) & ~(size_t)7;     /* keep raw records aligned */
    return RT_OK;
}

static size_t doc_nsent(const rt_cpd *c, int32_t d) { return c->dsent[d + 1] - c->dsent[d]; }
static size_t sent_len(const rt_cpd *c, size_t s) { return c->soff[s + 1] - c->soff[s]; }

static rt_status instances_from_document(rt_cpd *c, int di, int ndocs) {
    rt_pyrandom *r = &c->rng;
    int32_t d = c->order[di];
    size_t s0 = c->dsent[d];
    int64_t nS = (int64_t)doc_nsent(c, d);
    int max_num = c->o.max_seq_length - 3;
    int64_t target = max_num;
    if (rt_pyrandom_random(r) < c->o.short_seq_prob) target = rt_pyrandom_randint(r, 2, max_num);
    int64_t chunk_len = 0, cur_len = 0;
    size_t chunk_first = s0;
    for (int64_t i = 0; i < nS; i++) {
        if (!chunk_len) chunk_first = s0 + (size_t)i;
        chunk_len++;
        cur_len += (int64_t)sent_len(c, s0 + (size_t)i);
        if (i != nS - 1 && cur_len < target) continue;
        int64_t a_end = 1;
        if (chunk_len >= 2) a_end = rt_pyrandom_randint(r, 1, chunk_len - 1);
        size_t pa = c->soff[chunk_first], na = c->soff[chunk_first + (size_t)a_end] - pa, pb, nb = 0;
        int is_random = 0;
        if (chunk_len == 1 || rt_pyrandom_random(r) < 0.5) {
            is_random = 1;
            int64_t target_b = target - (int64_t)na, rdi = 0;
            for (int t = 0; t < 10; t++) {
                rdi = rt_pyrandom_randint(r, 0, ndocs - 1);
                if (rdi != di) break;
            }
            int32_t rd = c->order[rdi];
            size_t rs0 = c->dsent[rd], rn = doc_nsent(c, rd);
            int64_t rstart = rt_pyrandom_randint(r, 0, (int64_t)rn - 1);
            pb = c->soff[rs0 + (size_t)rstart];
            for (size_t j = (size_t)rstart; j < rn; j++) {
                nb += sent_len(c, rs0 + j);
                if ((int64_t)nb >= target_b) break;
            }
            i -= chunk_len - a_end;            /* put the unused segments back */
        } else {
            pb = c->soff[chunk_first + (size_t)a_end];
            nb = c->soff[chunk_first + (size_t)chunk_len] - pb;
        }
        while (na + nb > (size_t)max_num) {    /* truncate_seq_pair */
            int ta = na > nb;
            if (rt_pyrandom_random(r) < 0.5) { if (ta) { pa++; na--; } else { pb++; nb--; } }
            else { if (ta) na--; else nb--; }
        }
        if (!na || !nb) return rt_errorf(RT_EINVAL, "create_pretraining_data: an empty segment after truncation");
        int n = 0;
        c->itok[n] = c->cls; c->iseg[n] = 0; c->icont[n++] = 0;
        for (size_t k = 0; k < na; k++) { uint32_t v = c->tk[pa + k]; c->itok[n] = (int32_t)(v & ~CONT); c->iseg[n] = 0; c->icont[n++] = (v & CONT) != 0; }
        c->itok[n] = c->sep; c->iseg[n] = 0; c->icont[n++] = 0;
        for (size_t k = 0; k < nb; k++) { uint32_t v = c->tk[pb + k]; c->itok[n] = (int32_t)(v & ~CONT); c->iseg[n] = 1; c->icont[n++] = (v & CONT) != 0; }
        c->itok[n] = c->sep; c->iseg[n] = 1; c->icont[n++] = 0;
        rt_status st = finish_instance(c, n, is_random);
        if (st) return st;
        chunk_len = 0;
        cur_len = 0;
    }
    return RT_OK;
}

static rt_status flush_block(rt_cpd *c) {
    int ndocs = (int)c->ndoc;
    c->doc_open = 0;
    c->block_bytes = 0;
    if (!ndocs) return RT_OK;
    c->st.blocks++;
    int32_t *order = malloc((size_t)ndocs * sizeof *order);
    if (!order) return oom();
    for (int i = 0; i < ndocs; i++) order[i] = i;
    c->order = order;
    rt_pyrandom_shuffle(&c->rng, order, (size_t)ndocs, sizeof *order);
    rt_status st = RT_OK;
    for (int d = 0; d < c->o.dupe_factor && !st; d++)
        for (int i = 0; i < ndocs && !st; i++) {
            st = instances_from_document(c, i, ndocs);
            if (!st && rt_interrupt_flag) st = rt_errorf(RT_EINTR, "interrupted");
        }
    free(order);
    c->order = NULL;
    if (st) return st;
    rt_pyrandom_shuffle(&c->rng, c->inst, c->ninst, sizeof *c->inst);
    for (size_t k = 0; k < c->ninst && !st; k++) {
        const uint8_t *rec = c->arena + c->inst[k].off;
        if (c->o.shards) {
            const int32_t *r = (const int32_t *)(const void *)rec;
            int n = r[0], np = r[1];
            st = rt_shard_write(c->sw[c->widx], r + 3, r + 3 + n, n, r + 3 + 2 * n, r + 3 + 2 * n + np, np, r[2]);
        } else {
            st = rt_tfrecord_write(c->w[c->widx], rec, c->inst[k].len);
        }
        c->widx = (c->widx + 1) % c->nw;
    }
    c->ninst = 0; c->narena = 0;
    c->ntk = 0; c->nsent = 0; c->ndoc = 0;
    c->soff[0] = 0; c->dsent[0] = 0;
    return st;
}

rt_status rt_cpd_finish(rt_cpd *c) {
    rt_status st = flush_block(c);
    if (st) return st;
    if (!c->st.instances)
        return rt_errorf(RT_EINVAL, "create_pretraining_data: empty corpus (%lld lines, %lld documents): no instance was made",
                         (long long)c->st.lines, (long long)c->st.documents);
    for (int i = 0; i < c->nw; i++) {
        if (c->sw) {
            rt_shard_writer *w = c->sw[i];
            c->sw[i] = NULL;
            st = rt_shard_writer_close(w);
        } else {
            rt_tfrecord_writer *w = c->w[i];
            c->w[i] = NULL;
            st = rt_tfrecord_writer_close(w);
        }
        if (st) {
            for (int k = i + 1; k < c->nw; k++) {
                if (c->w[k]) rt_tfrecord_writer_abort(c->w[k]);
                if (c->sw && c->sw[k]) rt_shard_writer_abort(c->sw[k]);
                c->w[k] = NULL;
                if (c->sw) c->sw[k] = NULL;
            }
            return st;
        }
    }
    c->nw = 0;
    return RT_OK;
}
