/* pickle.c — restricted unpickler building a value tree (see pickle.h). */
#include "pickle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PK_MAX_MEMO (1 << 24)
#define PK_MAX_STACK (1 << 24)

typedef struct chunk { struct chunk *next; size_t used, cap; _Alignas(16) unsigned char data[]; } chunk;
struct pk_doc { chunk *head; };

static const char *const whitelist[] = {
    "collections.OrderedDict",
    "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor", "torch._utils._rebuild_parameter",
    "torch.FloatStorage", "torch.DoubleStorage", "torch.HalfStorage", "torch.BFloat16Storage",
    "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage",
    "torch.ByteStorage", "torch.BoolStorage",
};

static void *arena(pk_doc *d, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (!d->head || d->head->cap - d->head->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        chunk *c = malloc(sizeof *c + cap);
        if (!c) return NULL;
        c->next = d->head;
        c->used = 0;
        c->cap = cap;
        d->head = c;
    }
    void *p = d->head->data + d->head->used;
    d->head->used += n;
    memset(p, 0, n);
    return p;
}

void rt_pickle_free(pk_doc *doc) {
    if (!doc) return;
    for (chunk *c = doc->head, *nx; c; c = nx) { nx = c->next; free(c); }
    free(doc);
}

int pk_is_global(const pk_val *v, const char *qualname) {
    return v && v->kind == PK_GLOBAL && strcmp(v->s, qualname) == 0;
}

typedef struct {
    pk_doc *doc;
    const char *label;
    const uint8_t *p, *end, *start;
    pk_val **stack; size_t sp, scap;
    size_t *marks; size_t nmarks, mcap;
    pk_val **memo; size_t nmemo, nset;   /* nset: distinct memo keys (Python's len(memo)) */
    int failed;
} vm;

static int err(vm *m, const char *fmt, const char *arg) {
    if (!m->failed) {
        char buf[600];
        snprintf(buf, sizeof buf, fmt, arg ? arg : "");
        rt_errorf(RT_EFORMAT, "%s: pickle at byte %ld: %s", m->label, (long)(m->p - m->start), buf);
    }
    m->failed = 1;
    return -1;
}

static pk_val *mk(vm *m, pk_kind k) {
    pk_val *v = arena(m->doc, sizeof *v);
    if (!v) { err(m, "out of memory", NULL); return NULL; }
    v->kind = k;
    return v;
}

static int push(vm *m, pk_val *v) {
    if (!v) return -1;
    if (m->sp == m->scap) {
        if (m->scap >= PK_MAX_STACK) return err(m, "stack too deep", NULL);
        size_t cap = m->scap ? 2 * m->scap : 64;
        pk_val **s = realloc(m->stack, cap * sizeof *s);
        if (!s) return err(m, "out of memory", NULL);
        m->stack = s;
        m->scap = cap;
    }
    m->stack[m->sp++] = v;
    return 0;
}

static pk_val *pop(vm *m) {
    size_t floor = m->nmarks ? m->marks[m->nmarks - 1] : 0;
    if (m->sp <= floor) { err(m, "stack underflow", NULL); return NULL; }
    return m->stack[--m->sp];
}

static pk_val *top(vm *m) {
    size_t floor = m->nmarks ? m->marks[m->nmarks - 1] : 0;
    if (m->sp <= floor) { err(m, "stack underflow", NULL); return NULL; }
    return m->stack[m->sp - 1];
}

/* The object just below a popped mark at base (the target of APPENDS/SETITEMS). */
static pk_val *below(vm *m, size_t base) {
    size_t floor = m->nmarks ? m->marks[m->nmarks - 1] : 0;
    if (base == 0 || base - 1 < floor) { err(m, "stack underflow", NULL); return NULL; }
    return m->stack[base - 1];
}

static int append(vm *m, pk_val *c, pk_val *x) {
    if (c->n == c->cap) {
        int cap = c->cap ? 2 * c->cap : 4;
        if (cap > (1 << 28)) return err(m, "container too large", NULL);
        pk_val **it = arena(m->doc, (size_t)cap * sizeof *it);
        if (!it) return err(m, "out of memory", NULL);
        if (c->n) memcpy(it, c->items, (size_t)c->n * sizeof *it);
        c->items = it;
        c->cap = cap;
    }
    c->items[c->n++] = x;
    return 0;
}

/* Pop everything above the last mark; returns the count, items at m->stack[base..]. */
static int pop_mark(vm *m, size_t *base) {
    if (!m->nmarks) return err(m, "MARK expected", NULL);
    *base = m->marks[--m->nmarks];
    return 0;
}

static pk_val *mk_str(vm *m, pk_kind k, const uint8_t *s, size_t n) {
    pk_val *v = mk(m, k);
    if (!v) return NULL;
    char *c = arena(m->doc, n + 1);
    if (!c) { err(m, "out of memory", NULL); return NULL; }
    memcpy(c, s, n);
    c[n] = 0;
    v->s = c;
    v->slen = n;
    return v;
}

static int need(vm *m, size_t n) {
    if ((size_t)(m->end - m->p) < n) return err(m, "truncated data", NULL);
    return 0;
}

static uint64_t rdle(const uint8_t *p, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | p[i];
    return v;
}

static int memo_put(vm *m, uint64_t idx, pk_val *v) {
    if (!v) return -1;
    if (idx >= PK_MAX_MEMO) return err(m, "memo index too large", NULL);
    if (idx >= m->nmemo) {
        size_t n = m->nmemo ? m->nmemo : 64;
        while (n <= idx) n *= 2;
        pk_val **mm = realloc(m->memo, n * sizeof *mm);
        if (!mm) return err(m, "out of memory", NULL);
        memset(mm + m->nmemo, 0, (n - m->nmemo) * sizeof *mm);
        m->memo = mm;
        m->nmemo = n;
    }
    if (!m->memo[idx]) m->nset++;
    m->memo[idx] = v;
    return 0;
}

static int global(vm *m, const char *mod, size_t ml, const char *name, size_t nl) {
    char q[256];
    if (ml + nl + 2 > sizeof q) return err(m, "global name too long", NULL);
    memcpy(q, mod, ml);
    q[ml] = '.';
    memcpy(q + ml + 1, name, nl);
    q[ml + 1 + nl] = 0;
    for (size_t i = 0; i < ml + 1 + nl; i++)
        if ((unsigned char)q[i] < 0x20 || q[i] == 0x7f) q[i] = '?';
    for (size_t i = 0; i < sizeof whitelist / sizeof *whitelist; i++)
        if (strcmp(q, whitelist[i]) == 0) return push(m, mk_str(m, PK_GLOBAL, (const uint8_t *)q, strlen(q)));
    return err(m, "refusing to load global '%s': not part of a torch.save state_dict "
                  "(the file may contain code; nothing was executed)", q);
}

static int run(vm *m) {
    while (m->p < m->end) {
        if (m->failed) return -1;
        uint8_t op = *m->p++;
        size_t base = 0;
        pk_val *v, *a, *b;
        switch (op) {
        case 0x80: /* PROTO */
            if (need(m, 1)) return -1;
            if (*m->p > 5) return err(m, "unsupported pickle protocol", NULL);
            m->p++;
            break;
        case 0x95: /* FRAME */
            if (need(m, 8)) return -1;
            m->p += 8;
            break;
        case '.': return 0; /* STOP */
        case '(': /* MARK */
            if (m->nmarks == m->mcap) {
                size_t cap = m->mcap ? 2 * m->mcap : 16;
                if (cap > PK_MAX_STACK) return err(m, "too many marks", NULL);
                size_t *mk2 = realloc(m->marks, cap * sizeof *mk2);
                if (!mk2) return err(m, "out of memory", NULL);
                m->marks = mk2;
                m->mcap = cap;
            }
            m->marks[m->nmarks++] = m->sp;
            break;
        case 'N': if (push(m, mk(m, PK_NONE))) return -1; break;
        case 0x88: case 0x89:
            if (!(v = mk(m, PK_BOOL))) return -1;
            v->i = op == 0x88;
            if (push(m, v)) return -1;
            break;
        case 'J': case 'K': case 'M': { /* BININT, BININT1, BININT2 */
            int n = op == 'J' ? 4 : op == 'K' ? 1 : 2;
            if (need(m, (size_t)n) || !(v = mk(m, PK_INT))) return -1;
            uint64_t u = rdle(m->p, n);
            v->i = op == 'J' ? (int32_t)u : (int64_t)u;
            m->p += n;
            if (push(m, v)) return -1;
            break;
        }
        case 0x8a: { /* LONG1 */
            if (need(m, 1)) return -1;
            int n = *m->p++;
            if (n > 8) return err(m, "integer too large", NULL);
            if (need(m, (size_t)n) || !(v = mk(m, PK_INT))) return -1;
            uint64_t u = n ? rdle(m->p, n) : 0;
            if (n && n < 8 && (m->p[n - 1] & 0x80)) u |= ~0ull << (8 * n);   /* sign extend */
            v->i = (int64_t)u;
            m->p += n;
            if (push(m, v)) return -1;
            break;
        }
        case 'G': { /* BINFLOAT, big-endian */
            if (need(m, 8) || !(v = mk(m, PK_FLOAT))) return -1;
            uint64_t u = 0;
            for (int i = 0; i < 8; i++) u = u << 8 | m->p[i];
            memcpy(&v->f, &u, 8);
            m->p += 8;
            if (push(m, v)) return -1;
            break;
        }
        case 'X': case 0x8c: case 0x8d: case 'T': case 'U': case 'B': case 'C': case 0x8e: {
            int n = (op == 0x8c || op == 'U' || op == 'C') ? 1 : (op == 0x8d || op == 0x8e) ? 8 : 4;
            if (need(m, (size_t)n)) return -1;
            uint64_t len = rdle(m->p, n);
            m->p += n;
            if (need(m, len)) return -1;
            pk_kind k = (op == 'B' || op == 'C' || op == 0x8e) ? PK_BYTES : PK_STR;
            if (push(m, mk_str(m, k, m->p, (size_t)len))) return -1;
            m->p += len;
            break;
        }
        case ')': if (push(m, mk(m, PK_TUPLE))) return -1; break;
        case ']': if (push(m, mk(m, PK_LIST))) return -1; break;
        case '}': if (push(m, mk(m, PK_DICT))) return -1; break;
        case 't': case 'l': case 'd': /* TUPLE, LIST, DICT from mark */
            if (pop_mark(m, &base)) return -1;
            if (!(v = mk(m, op == 't' ? PK_TUPLE : op == 'l' ? PK_LIST : PK_DICT))) return -1;
            if (op == 'd' && (m->sp - base) % 2) return err(m, "odd number of items for DICT", NULL);
            for (size_t i = base; i < m->sp; i++) if (append(m, v, m->stack[i])) return -1;
            m->sp = base;
            if (push(m, v)) return -1;
            break;
        case 0x85: case 0x86: case 0x87: { /* TUPLE1..3 */
            int n = op - 0x84;
            pk_val *it[3];
            for (int i = n - 1; i >= 0; i--) if (!(it[i] = pop(m))) return -1;
            if (!(v = mk(m, PK_TUPLE))) return -1;
            for (int i = 0; i < n; i++) if (append(m, v, it[i])) return -1;
            if (push(m, v)) return -1;
            break;
        }
        case 'q': case 'r': { /* BINPUT, LONG_BINPUT */
            int n = op == 'q' ? 1 : 4;
            if (need(m, (size_t)n)) return -1;
            uint64_t idx = rdle(m->p, n);
            m->p += n;
            if (!(v = top(m)) || memo_put(m, idx, v)) return -1;
            break;
        }
        case 0x94: /* MEMOIZE */
            if (!(v = top(m))) return -1;
            if (memo_put(m, m->nset, v)) return -1;   /* memo[len(memo)] = top, in O(1) */
            break;
        case 'h': case 'j': { /* BINGET, LONG_BINGET */
            int n = op == 'h' ? 1 : 4;
            if (need(m, (size_t)n)) return -1;
            uint64_t idx = rdle(m->p, n);
            m->p += n;
            if (idx >= m->nmemo || !m->memo[idx]) return err(m, "memo key missing", NULL);
            if (push(m, m->memo[idx])) return -1;
            break;
        }
        case '0': if (!pop(m)) return -1; break;            /* POP */
        case '1': if (pop_mark(m, &base)) return -1; m->sp = base; break;   /* POP_MARK */
        case '2': if (!(v = top(m)) || push(m, v)) return -1; break;        /* DUP */
        case 'c': { /* GLOBAL "module\nname\n" */
            const uint8_t *nl1 = memchr(m->p, '\n', (size_t)(m->end - m->p));
            if (!nl1) return err(m, "truncated GLOBAL", NULL);
            const uint8_t *nl2 = memchr(nl1 + 1, '\n', (size_t)(m->end - nl1 - 1));
            if (!nl2) return err(m, "truncated GLOBAL", NULL);
            const char *mod = (const char *)m->p, *name = (const char *)nl1 + 1;
            size_t ml = (size_t)(nl1 - m->p), nl = (size_t)(nl2 - nl1 - 1);
            m->p = nl2 + 1;
            if (global(m, mod, ml, name, nl)) return -1;
            break;
        }
        case 0x93: /* STACK_GLOBAL */
            if (!(b = pop(m)) || !(a = pop(m))) return -1;
            if (a->kind != PK_STR || b->kind != PK_STR) return err(m, "STACK_GLOBAL needs two strings", NULL);
            if (global(m, a->s, a->slen, b->s, b->slen)) return -1;
            break;
        case 'Q': /* BINPERSID */
            if (!(a = pop(m)) || !(v = mk(m, PK_PERSID))) return -1;
            v->args = a;
            if (push(m, v)) return -1;
            break;
        case 'R': /* REDUCE */
            if (!(a = pop(m)) || !(b = pop(m))) return -1;
            if (b->kind != PK_GLOBAL) return err(m, "REDUCE of a non-global callable", NULL);
            if (a->kind != PK_TUPLE) return err(m, "REDUCE arguments are not a tuple", NULL);
            if (strstr(b->s, "Storage")) return err(m, "storage class '%s' called directly", b->s);
            if (pk_is_global(b, "collections.OrderedDict")) {
                if (a->n) return err(m, "OrderedDict() with arguments is not supported", NULL);
                v = mk(m, PK_DICT);
            } else {
                if (!(v = mk(m, PK_CALL))) return -1;
                v->func = b;
                v->args = a;
            }
            if (push(m, v)) return -1;
            break;
        case 'b': /* BUILD */
            if (!(a = pop(m)) || !(v = top(m))) return -1;
            if (v->kind == PK_DICT || v->kind == PK_CALL) v->state = a;   /* e.g. state_dict._metadata */
            else return err(m, "BUILD on an unsupported object", NULL);
            break;
        case 'a': /* APPEND */
            if (!(a = pop(m)) || !(v = top(m))) return -1;
            if (v->kind != PK_LIST) return err(m, "APPEND to a non-list", NULL);
            if (append(m, v, a)) return -1;
            break;
        case 'e': /* APPENDS */
            if (pop_mark(m, &base)) return -1;
            if (!(v = below(m, base))) return -1;
            if (v->kind != PK_LIST) return err(m, "APPENDS to a non-list", NULL);
            for (size_t i = base; i < m->sp; i++) if (append(m, v, m->stack[i])) return -1;
            m->sp = base;
            break;
        case 's': /* SETITEM */
            if (!(b = pop(m)) || !(a = pop(m)) || !(v = top(m))) return -1;
            if (v->kind != PK_DICT) return err(m, "SETITEM on a non-dict", NULL);
            if (append(m, v, a) || append(m, v, b)) return -1;
            break;
        case 'u': /* SETITEMS */
            if (pop_mark(m, &base)) return -1;
            if ((m->sp - base) % 2) return err(m, "odd number of items for SETITEMS", NULL);
            if (!(v = below(m, base))) return -1;
            if (v->kind != PK_DICT) return err(m, "SETITEMS on a non-dict", NULL);
            for (size_t i = base; i < m->sp; i++) if (append(m, v, m->stack[i])) return -1;
            m->sp = base;
            break;
        default: {
            char hex[8];
            snprintf(hex, sizeof hex, "0x%02x", op);
            return err(m, "unsupported opcode %s (not part of a torch.save state_dict)", hex);
        }
        }
    }
    return err(m, "truncated: no STOP opcode", NULL);
}

pk_doc *rt_pickle_load(const uint8_t *buf, size_t len, const char *label, pk_val **root) {
    vm m;
    memset(&m, 0, sizeof m);
    m.label = label ? label : "<memory>";
    m.p = m.start = buf;
    m.end = buf + len;
    m.doc = calloc(1, sizeof *m.doc);
    if (!m.doc) { rt_errorf(RT_ENOMEM, "%s: out of memory", m.label); return NULL; }
    int rc = run(&m);
    if (rc == 0 && m.sp != 1) rc = err(&m, "stack does not hold exactly one value at STOP", NULL);
    if (rc == 0) *root = m.stack[0];
    free(m.stack);
    free(m.marks);
    free(m.memo);
    if (rc) { rt_pickle_free(m.doc); return NULL; }
    return m.doc;
}
