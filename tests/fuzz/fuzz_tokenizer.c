/* fuzz_tokenizer.c — libFuzzer target: vocab parsing, BasicTokenizer + WordPiece (lower-cased
 * and cased), the vocabulary learners and the segmenter on arbitrary bytes. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "text/segment.h"
#include "text/tokenizer.h"
#include "text/vocab_build.h"

static rt_tokenizer *tok[2];

static void setup(void) {
    static const char *v = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\nb\n##a\n##b\nab\n##ab\n\xe4\xb8\xad\n##\xc3\xa9\n"
                           "hello\n##llo\nhe\n,\n.\n!\n\xc3\xa9\n1\n##1\n";
    for (int i = 0; i < 2; i++) tok[i] = rt_tokenizer_new(rt_vocab_from_buffer(v, strlen(v), "fuzz"), i == 0, NULL, 0);
}

static int sink(void *c, const char *w, size_t nb) { (void)w; *(size_t *)c += nb; return 0; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!tok[0]) setup();
    const char *s = (const char *)data;
    rt_ids ids = {0};
    for (int i = 0; i < 2; i++) {
        ids.n = 0;
        if (rt_tokenize_ids(tok[i], s, size, &ids) == RT_OK)
            for (size_t k = 0; k < ids.n; k++)
                if (!rt_tokenizer_token(tok[i], ids.v[k], NULL)) __builtin_trap();
    }
    rt_ids_free(&ids);
    rt_vocab *v = rt_vocab_from_buffer(s, size, "fuzz");
    if (v) {
        if (rt_vocab_size(v) > 0) {
            size_t len; const char *t = rt_vocab_token(v, rt_vocab_size(v) - 1, &len);
            if (rt_vocab_find(v, t, len) < 0) __builtin_trap();
        }
        rt_vocab_free(v);
    }
    if (size < 4096) {
        rt_vocab_builder *b = rt_vocab_builder_new(size & 1);
        if (b && rt_vocab_builder_add_text(b, s, size) == RT_OK) {
            rt_vocab_build_opts o = {.size = 64, .min_frequency = 1};
            rt_vocab_free(rt_vocab_build_wordpiece(b, &o));
            rt_vocab_free(rt_vocab_build_chars(b, &o));
        }
        rt_vocab_builder_free(b);
        rt_segmenter *sg = rt_segmenter_new();
        rt_segmenter_parse(sg, s, size, "fuzz");
        rt_segmenter_add(sg, "\xe4\xb8\xad\xe5\x9b\xbd", 6, 10);
        size_t total = 0;
        for (int m = 0; m < 2; m++) rt_segment_cut(sg, s, size, (rt_seg_mode)m, sink, &total);
        rt_segmenter_free(sg);
    }
    return 0;
}
