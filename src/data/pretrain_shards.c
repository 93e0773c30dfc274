/* pretrain_shards.c — safetensors pretraining shards (see pretrain_shards.h). */
#include "pretrain_shards.h"
#include "../io/ioutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { C_IDS, C_MASK, C_SEG, C_POS, C_LAB, C_W, C_NSP, NCOL };
static const char *const names[NCOL] = {"input_ids", "input_mask", "segment_ids", "masked_lm_positions",
                                        "masked_lm_ids", "masked_lm_weights", "next_sentence_labels"};

struct rt_shard_writer {
    char *path;
    int S, P;
    int64_t n;
    FILE *col[NCOL];
    int32_t *row;
};

void rt_shard_writer_abort(rt_shard_writer *w) {
    if (!w) return;
    for (int i = 0; i < NCOL; i++) if (w->col[i]) fclose(w->col[i]);
    free(w->row);
    free(w->path);
    free(w);
}

rt_shard_writer *rt_shard_writer_open(const char *path, int S, int P) {
    rt_shard_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = strdup(path)) || !(w->row = malloc(sizeof(int32_t) * (size_t)(S > P ? S : P) + 4))) {
        rt_shard_writer_abort(w);
        rt_errorf(RT_ENOMEM, "%s: out of memory", path);
        return NULL;
    }
    w->S = S; w->P = P;
    for (int i = 0; i < NCOL; i++)
        if (!(w->col[i] = tmpfile())) {
            rt_errorf(RT_EIO, "%s: cannot create a temporary file: %s", path, strerror(errno));
            rt_shard_writer_abort(w);
            return NULL;
        }
    return w;
}

static int put_col(rt_shard_writer *w, int c, const int32_t *v, int n, int m, int ones) {
    for (int k = 0; k < m; k++) w->row[k] = k < n ? (ones ? 1 : v[k]) : 0;
    return fwrite(w->row, 4, (size_t)m, w->col[c]) == (size_t)m ? 0 : -1;
}

rt_status rt_shard_write(rt_shard_writer *w, const int32_t *ids, const int32_t *seg, int n,
                         const int32_t *pos, const int32_t *lab, int np, int next) {
    int bad = put_col(w, C_IDS, ids, n, w->S, 0) | put_col(w, C_MASK, NULL, n, w->S, 1) |
              put_col(w, C_SEG, seg, n, w->S, 0) | put_col(w, C_POS, pos, np, w->P, 0) | put_col(w, C_LAB, lab, np, w->P, 0);
    float *f = (float *)w->row;
    for (int k = 0; k < w->P; k++) f[k] = k < np ? 1.0f : 0.0f;
    bad |= fwrite(f, 4, (size_t)w->P, w->col[C_W]) != (size_t)w->P;
    int32_t nl = next;
    bad |= fwrite(&nl, 4, 1, w->col[C_NSP]) != 1;
    if (bad) return rt_errorf(RT_EIO, "%s: cannot write a temporary file: %s", w->path, strerror(errno));
    w->n++;
    return RT_OK;
}

rt_status rt_shard_writer_close(rt_shard_writer *w) {
    char hdr[4096];
    int len = snprintf(hdr, sizeof hdr, "{\"__metadata__\":{\"format\":\"retort-pretraining\",\"instances\":\"%lld\","
                       "\"max_predictions_per_seq\":\"%d\",\"max_seq_length\":\"%d\"}", (long long)w->n, w->P, w->S);
    uint64_t off = 0;
    for (int i = 0; i < NCOL; i++) {
        int64_t per = i <= C_SEG ? w->S : i <= C_W ? w->P : 1;
        uint64_t nb = (uint64_t)w->n * (uint64_t)per * 4;
        if (i == C_NSP)
            len += snprintf(hdr + len, sizeof hdr - (size_t)len, ",\"%s\":{\"dtype\":\"I32\",\"shape\":[%lld],\"data_offsets\":[%llu,%llu]}",
                            names[i], (long long)w->n, (unsigned long long)off, (unsigned long long)(off + nb));
        else
            len += snprintf(hdr + len, sizeof hdr - (size_t)len, ",\"%s\":{\"dtype\":\"%s\",\"shape\":[%lld,%lld],\"data_offsets\":[%llu,%llu]}",
                            names[i], i == C_W ? "F32" : "I32", (long long)w->n, (long long)per, (unsigned long long)off,
                            (unsigned long long)(off + nb));
        off += nb;
    }
    len += snprintf(hdr + len, sizeof hdr - (size_t)len, "}");
    while (len % 8) hdr[len++] = ' ';
    rt_atomic_file af;
    rt_status st = rt_atomic_open(&af, w->path);
    if (st) { rt_shard_writer_abort(w); return st; }
    uint8_t l8[8];
    rt_wr64(l8, (uint64_t)len);
    st = rt_atomic_write(&af, l8, 8);
    if (!st) st = rt_atomic_write(&af, hdr, (size_t)len);
    char buf[65536];
    for (int i = 0; i < NCOL && !st; i++) {
        rewind(w->col[i]);
        size_t got;
        while (!st && (got = fread(buf, 1, sizeof buf, w->col[i])) > 0) st = rt_atomic_write(&af, buf, got);
        if (!st && ferror(w->col[i])) st = rt_errorf(RT_EIO, "%s: cannot read a temporary file", w->path);
    }
    if (st) rt_atomic_abort(&af); else st = rt_atomic_commit(&af);
    rt_shard_writer_abort(w);
    return st;
}
