/* tfnames.c — TF -> PyTorch parameter names (pure function, see tfnames.h). */
#include "tfnames.h"

#include <stdio.h>
#include <string.h>

static const char *const skip_components[] = {
    "adam_m", "adam_v", "lamb_m", "lamb_v", "AdamWeightDecayOptimizer", "AdamWeightDecayOptimizer_1",
    "Adam", "Adam_1", "LAMB", "LAMB_1", "Momentum", "global_step", "beta1_power", "beta2_power",
    "loss_scale", "current_loss_scale", "good_steps", "loss_scale_normal_steps", "ExponentialMovingAverage",
};

static int is_skip(const char *c, size_t n) {
    for (size_t i = 0; i < sizeof skip_components / sizeof *skip_components; i++)
        if (strlen(skip_components[i]) == n && memcmp(skip_components[i], c, n) == 0) return 1;
    return 0;
}

int rt_tf_to_torch_name(const char *tf, char *out, size_t n, int *transpose) {
    *transpose = 0;
    if (n == 0) return -1;
    char src[1024];
    if (strncmp(tf, "cls/squad/", 10) == 0) snprintf(src, sizeof src, "qa_outputs/%s", tf + 10);
    else if (strcmp(tf, "output_weights") == 0 || strcmp(tf, "output_bias") == 0) snprintf(src, sizeof src, "classifier/%s", tf);
    else snprintf(src, sizeof src, "%s", tf);
    size_t o = 0;
    out[0] = 0;
    const char *p = src;
    while (*p) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        int last = e == NULL;
        if (is_skip(p, len)) return 0;
        char comp[256];
        if (len >= sizeof comp) return -1;
        memcpy(comp, p, len);
        comp[len] = 0;
        const char *rep = comp;
        char buf[300];
        unsigned idx;
        char tail;
        if (sscanf(comp, "layer_%u%c", &idx, &tail) == 1) { snprintf(buf, sizeof buf, "layer.%u", idx); rep = buf; }
        else if (last && strcmp(comp, "kernel") == 0) { rep = "weight"; *transpose = 1; }
        else if (last && (strcmp(comp, "gamma") == 0 || strcmp(comp, "output_weights") == 0)) rep = "weight";
        else if (last && (strcmp(comp, "beta") == 0 || strcmp(comp, "output_bias") == 0)) rep = "bias";
        else if (last && len > 11 && strcmp(comp + len - 11, "_embeddings") == 0) { snprintf(buf, sizeof buf, "%s.weight", comp); rep = buf; }
        int w = snprintf(out + o, n - o, "%s%s", o ? "." : "", rep);
        if (w < 0 || (size_t)w >= n - o) return -1;
        o += (size_t)w;
        p = e ? e + 1 : p + len;
    }
    return o ? 1 : 0;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

int rt_torch_to_tf_name(const char *pt, char *out, size_t n, int *transpose) {
    *transpose = 0;
    if (n == 0) return -1;
    if (strncmp(pt, "cls.predictions.decoder.", 24) == 0 || ends_with(pt, "position_ids")) return 0;
    char src[1024];
    int w;
    if (strcmp(pt, "classifier.weight") == 0) w = snprintf(out, n, "output_weights");
    else if (strcmp(pt, "classifier.bias") == 0) w = snprintf(out, n, "output_bias");
    else if (strcmp(pt, "qa_outputs.weight") == 0) w = snprintf(out, n, "cls/squad/output_weights");
    else if (strcmp(pt, "qa_outputs.bias") == 0) w = snprintf(out, n, "cls/squad/output_bias");
    else if (strcmp(pt, "cls.predictions.bias") == 0) w = snprintf(out, n, "cls/predictions/output_bias");
    else if (strcmp(pt, "cls.seq_relationship.weight") == 0) w = snprintf(out, n, "cls/seq_relationship/output_weights");
    else if (strcmp(pt, "cls.seq_relationship.bias") == 0) w = snprintf(out, n, "cls/seq_relationship/output_bias");
    else {
        if (strlen(pt) >= sizeof src) return -1;
        strcpy(src, pt);
        size_t o = 0;
        out[0] = 0;
        char *save = NULL, *tok = strtok_r(src, ".", &save), *prev = NULL;
        while (tok) {
            char *next = strtok_r(NULL, ".", &save);
            char buf[300];
            const char *rep = tok;
            int skip = 0;
            if (strcmp(tok, "layer") == 0 && next && next[0] >= '0' && next[0] <= '9') {
                snprintf(buf, sizeof buf, "layer_%s", next);
                rep = buf;
                next = strtok_r(NULL, ".", &save);
            } else if (!next && strcmp(tok, "weight") == 0) {
                if (prev && strcmp(prev, "LayerNorm") == 0) rep = "gamma";
                else if (prev && ends_with(prev, "_embeddings")) skip = 1;
                else { rep = "kernel"; *transpose = 1; }
            } else if (!next && strcmp(tok, "bias") == 0) {
                if (prev && strcmp(prev, "LayerNorm") == 0) rep = "beta";
            }
            if (!skip) {
                int k = snprintf(out + o, n - o, "%s%s", o ? "/" : "", rep);
                if (k < 0 || (size_t)k >= n - o) return -1;
                o += (size_t)k;
            }
            prev = tok;
            tok = next;
        }
        return o ? 1 : 0;
    }
    return (w < 0 || (size_t)w >= n) ? -1 : 1;
}
