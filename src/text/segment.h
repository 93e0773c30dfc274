/* segment.h — dictionary-based Chinese word segmentation (jieba's algorithm
 * without the HMM): a prefix dictionary, the DAG of dictionary words starting at
 * each character, and the maximum-probability route by dynamic programming over
 * log(freq / total) (characters not in the dictionary count as freq 1). Runs of
 * single ASCII letters/digits on the route are joined into one word.
 * Mode "fmm": forward maximum matching over the same dictionary instead.
 *
 * Text is first cut into blocks as jieba does: runs of [CJK 4E00-9FD5, a-z A-Z
 * 0-9 + # & . _ % -] are segmented; any other character is its own word ("\r\n"
 * stays one).
 *
 * Dictionary file: one entry per line, "word freq [tag]" separated by spaces or
 * tabs (jieba's dict.txt format); freq a non-negative integer (missing: 1);
 * blank lines and lines starting with '#' are ignored. */
#ifndef RT_TEXT_SEGMENT_H
#define RT_TEXT_SEGMENT_H

#include <stddef.h>
#include <stdint.h>
#include "../core/status.h"

typedef struct rt_segmenter rt_segmenter;

rt_segmenter *rt_segmenter_new(void);
/* Load (or add to) the dictionary from a file / a buffer; errors name file:line. */
rt_status rt_segmenter_load(rt_segmenter *s, const char *path);
rt_status rt_segmenter_parse(rt_segmenter *s, const char *data, size_t n, const char *name);
/* Add one word (freq >= 0). */
rt_status rt_segmenter_add(rt_segmenter *s, const char *word, size_t len, int64_t freq);
size_t rt_segmenter_size(const rt_segmenter *s);
void rt_segmenter_free(rt_segmenter *s);

typedef enum { RT_SEG_DAG = 0, RT_SEG_FMM = 1 } rt_seg_mode;
/* Cut UTF-8 text; fn(ctx, word, nbytes) per word in order (nonzero stops). */
rt_status rt_segment_cut(const rt_segmenter *s, const char *text, size_t n, rt_seg_mode mode,
                         int (*fn)(void *ctx, const char *w, size_t nb), void *ctx);

#endif
