/* pretrain_shards.h — retort's pretraining shards: one safetensors file per output
 * holding the instances column by column, so the trainer maps it instead of decoding
 * protobufs: input_ids, input_mask, segment_ids [N, S] I32, masked_lm_positions,
 * masked_lm_ids [N, P] I32, masked_lm_weights [N, P] F32, next_sentence_labels [N] I32
 * (the tf.train.Example features, zero-padded the same way); __metadata__ has
 * format = "retort-pretraining", max_seq_length, max_predictions_per_seq, instances.
 * Columns are streamed to anonymous temporary files and assembled at close, so memory
 * stays bounded; the file appears atomically. */
#ifndef RT_DATA_PRETRAIN_SHARDS_H
#define RT_DATA_PRETRAIN_SHARDS_H

#include <stdint.h>
#include "../core/status.h"

typedef struct rt_shard_writer rt_shard_writer;

rt_shard_writer *rt_shard_writer_open(const char *path, int max_seq, int max_pred);
/* One instance: n real tokens (ids, seg), np predictions (pos, lab), next_label 0/1. */
rt_status rt_shard_write(rt_shard_writer *w, const int32_t *ids, const int32_t *seg, int n,
                         const int32_t *pos, const int32_t *lab, int np, int next_label);
rt_status rt_shard_writer_close(rt_shard_writer *w);   /* commits; frees w */
void rt_shard_writer_abort(rt_shard_writer *w);        /* discards; frees w (NULL-safe) */

#endif
