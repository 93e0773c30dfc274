/* config.c — config.json / bert_config.json with the upstream PyTorch defaults
 * (NEZHA / BERT bert_config.json defaults: type_vocab_size 2, layer_norm_eps 1e-12, max_relative_position 64,
 * use_relative_position false when absent), retort keys (fit_size, heads, num_labels,
 * id2label, classifier_activation, problem_type), unknown keys kept verbatim. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "model.h"
#include "../core/sys.h"

static const char *HEAD_NAMES[] = {"mlm", "nsp", "classifier", "token_classifier", "qa"};

unsigned rt_head_parse(const char *name) {
    for (int i = 0; i < 5; i++)
        if (!strcmp(name, HEAD_NAMES[i])) return 1u << i;
    if (!strcmp(name, "sequence_classification") || !strcmp(name, "seq")) return RT_HEAD_CLS;
    if (!strcmp(name, "token_classification") || !strcmp(name, "token")) return RT_HEAD_TOKCLS;
    if (!strcmp(name, "span") || !strcmp(name, "question_answering")) return RT_HEAD_QA;
    return 0;
}

const char *rt_head_name(unsigned bit) {
    for (int i = 0; i < 5; i++)
        if (bit == (1u << i)) return HEAD_NAMES[i];
    return "?";
}

const char *rt_act_name(rt_act a) {
    return a == RT_ACT_GELU ? "gelu" : a == RT_ACT_GELU_TANH ? "gelu_new" : "relu";
}

void rt_config_free(rt_config *c) {
    if (c->json) cJSON_Delete(c->json);
    memset(c, 0, sizeof *c);
}

static int get_int(cJSON *j, const char *k, int def, const char *origin, rt_status *st) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    if (!v || cJSON_IsNull(v)) return def;
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 1e9) {
        *st = rt_errorf(RT_EFORMAT, "%s: config key \"%s\" must be an integer", origin, k);
        return def;
    }
    return (int)v->valuedouble;
}

static double get_num(cJSON *j, const char *k, double def, const char *origin, rt_status *st) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    if (!v || cJSON_IsNull(v)) return def;
    if (!cJSON_IsNumber(v)) {
        *st = rt_errorf(RT_EFORMAT, "%s: config key \"%s\" must be a number", origin, k);
        return def;
    }
    return v->valuedouble;
}

static bool get_bool(cJSON *j, const char *k, bool def, const char *origin, rt_status *st) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    if (!v || cJSON_IsNull(v)) return def;
    if (cJSON_IsBool(v)) return cJSON_IsTrue(v);
    if (cJSON_IsNumber(v)) return v->valuedouble != 0;
    *st = rt_errorf(RT_EFORMAT, "%s: config key \"%s\" must be true or false", origin, k);
    return def;
}

static const char *get_str(cJSON *j, const char *k) {
    cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* heads from "heads" (retort) or "architectures" (HF) */
static rt_status read_heads(cJSON *j, rt_config *c, const char *origin) {
    cJSON *h = cJSON_GetObjectItemCaseSensitive(j, "heads");
    if (h && !cJSON_IsNull(h)) {
        if (!cJSON_IsArray(h))
            return rt_errorf(RT_EFORMAT, "%s: config key \"heads\" must be a list of names "
                             "(mlm, nsp, classifier, token_classifier, qa)", origin);
        cJSON *e;
        cJSON_ArrayForEach(e, h) {
            unsigned b = cJSON_IsString(e) ? rt_head_parse(e->valuestring) : 0;
            if (!b)
                return rt_errorf(RT_EFORMAT, "%s: unknown head %s%s%s (known: mlm, nsp, classifier, "
                                 "token_classifier, qa)", origin, cJSON_IsString(e) ? "\"" : "",
                                 cJSON_IsString(e) ? e->valuestring : "(not a string)",
                                 cJSON_IsString(e) ? "\"" : "");
            c->heads |= b;
        }
        c->heads_given = true;
        return RT_OK;
    }
    cJSON *a = cJSON_GetObjectItemCaseSensitive(j, "architectures");
    if (cJSON_IsArray(a)) {
        cJSON *e;
        cJSON_ArrayForEach(e, a) {
            if (!cJSON_IsString(e)) continue;
            const char *s = e->valuestring;
            if (strstr(s, "ForPreTraining")) c->heads |= RT_HEAD_MLM | RT_HEAD_NSP;
            else if (strstr(s, "ForMaskedLM")) c->heads |= RT_HEAD_MLM;
            else if (strstr(s, "ForNextSentencePrediction")) c->heads |= RT_HEAD_NSP;
            else if (strstr(s, "ForSequenceClassification")) c->heads |= RT_HEAD_CLS;
            else if (strstr(s, "ForTokenClassification")) c->heads |= RT_HEAD_TOKCLS;
            else if (strstr(s, "ForQuestionAnswering")) c->heads |= RT_HEAD_QA;
        }
        c->heads_given = c->heads != 0;
    }
    return RT_OK;
}

rt_status rt_config_validate(const rt_config *c, const char *origin) {
    const char *o = origin ? origin : "config";
    if (c->vocab_size <= 0) return rt_errorf(RT_EINVAL, "%s: vocab_size must be > 0 (got %d)", o, c->vocab_size);
    if (c->hidden_size <= 0) return rt_errorf(RT_EINVAL, "%s: hidden_size must be > 0 (got %d)", o, c->hidden_size);
    if (c->num_hidden_layers < 0) return rt_errorf(RT_EINVAL, "%s: num_hidden_layers must be >= 0 (got %d)", o, c->num_hidden_layers);
    if (c->num_attention_heads <= 0) return rt_errorf(RT_EINVAL, "%s: num_attention_heads must be > 0 (got %d)", o, c->num_attention_heads);
    if (c->hidden_size % c->num_attention_heads)
        return rt_errorf(RT_EINVAL, "%s: hidden_size %d is not a multiple of num_attention_heads %d",
                         o, c->hidden_size, c->num_attention_heads);
    if (c->intermediate_size <= 0) return rt_errorf(RT_EINVAL, "%s: intermediate_size must be > 0 (got %d)", o, c->intermediate_size);
    if (c->type_vocab_size <= 0) return rt_errorf(RT_EINVAL, "%s: type_vocab_size must be > 0 (got %d)", o, c->type_vocab_size);
    if (!c->use_relative_position && c->max_position_embeddings <= 0)
        return rt_errorf(RT_EINVAL, "%s: max_position_embeddings must be > 0 (got %d)", o, c->max_position_embeddings);
    if (c->use_relative_position && c->max_relative_position <= 0)
        return rt_errorf(RT_EINVAL, "%s: max_relative_position must be > 0 (got %d)", o, c->max_relative_position);
    if (c->use_relative_position && (c->hidden_size / c->num_attention_heads) % 2)
        return rt_errorf(RT_EINVAL, "%s: relative positions need an even head size (hidden %d / heads %d)",
                         o, c->hidden_size, c->num_attention_heads);
    if (c->hidden_dropout_prob < 0 || c->hidden_dropout_prob >= 1 ||
        c->attention_probs_dropout_prob < 0 || c->attention_probs_dropout_prob >= 1)
        return rt_errorf(RT_EINVAL, "%s: dropout probabilities must be in [0, 1)", o);
    if (!(c->layer_norm_eps > 0)) return rt_errorf(RT_EINVAL, "%s: layer_norm_eps must be > 0", o);
    if (c->initializer_range < 0) return rt_errorf(RT_EINVAL, "%s: initializer_range must be >= 0", o);
    if (c->fit_size < 0) return rt_errorf(RT_EINVAL, "%s: fit_size must be > 0 (got %d)", o, c->fit_size);
    if ((c->heads & (RT_HEAD_CLS | RT_HEAD_TOKCLS)) == (RT_HEAD_CLS | RT_HEAD_TOKCLS))
        return rt_errorf(RT_EINVAL, "%s: heads classifier and token_classifier both use the name "
                         "\"classifier\"; pick one", o);
    if ((c->heads & (RT_HEAD_CLS | RT_HEAD_TOKCLS)) && c->num_labels <= 0)
        return rt_errorf(RT_EINVAL, "%s: num_labels must be > 0 for a classifier head (got %d)", o, c->num_labels);
    /* Sane limits (far above every published BERT/NEZHA/TinyBERT), checked before
     * anything is allocated: a 200-byte config cannot ask for gigabytes. */
    static const struct { const char *key; int64_t max; } lim[] = {
        {"vocab_size", RT_CONFIG_MAX_VOCAB}, {"hidden_size", RT_CONFIG_MAX_HIDDEN},
        {"num_hidden_layers", RT_CONFIG_MAX_LAYERS}, {"num_attention_heads", RT_CONFIG_MAX_HEADS},
        {"intermediate_size", RT_CONFIG_MAX_INTERMEDIATE}, {"max_position_embeddings", RT_CONFIG_MAX_POSITIONS},
        {"type_vocab_size", RT_CONFIG_MAX_TYPES}, {"max_relative_position", RT_CONFIG_MAX_POSITIONS},
        {"fit_size", RT_CONFIG_MAX_HIDDEN}, {"num_labels", RT_CONFIG_MAX_LABELS},
    };
    const int vals[] = {c->vocab_size, c->hidden_size, c->num_hidden_layers, c->num_attention_heads,
                        c->intermediate_size, c->max_position_embeddings, c->type_vocab_size,
                        c->use_relative_position ? c->max_relative_position : 0, c->fit_size, c->num_labels};
    for (size_t i = 0; i < sizeof lim / sizeof *lim; i++)
        if (vals[i] > lim[i].max)
            return rt_errorf(RT_EINVAL, "%s: %s %d is above the limit %lld", o, lim[i].key, vals[i], (long long)lim[i].max);
    double bytes = rt_config_param_bytes(c), avail = rt_config_memory_limit();
    if (bytes > avail)
        return rt_errorf(RT_ENOMEM, "%s: the model would need %.1f GiB for its parameters alone, more than the "
                         "%.1f GiB this machine has (check num_hidden_layers, hidden_size, vocab_size)",
                         o, bytes / 1073741824.0, avail / 1073741824.0);
    return RT_OK;
}

double rt_config_param_bytes(const rt_config *c) {
    double H = c->hidden_size, I = c->intermediate_size, L = c->num_hidden_layers;
    double emb = ((double)c->vocab_size + (c->use_relative_position ? 0 : c->max_position_embeddings) +
                  c->type_vocab_size + 2) * H;
    double layer = 4 * (H * H + H) + 2 * H * I + I + H + 4 * H;
    double heads = H * H + H + (double)c->vocab_size + 3 * H + (double)(c->num_labels + 2) * (H + 1) +
                   (c->fit_size > 0 ? (H + 1) * c->fit_size * (L + 1) : 0);
    return 4 * (emb + L * layer + heads);
}

double rt_config_memory_limit(void) {
    long pages = sysconf(_SC_PHYS_PAGES), pg = sysconf(_SC_PAGESIZE);
    double phys = pages > 0 && pg > 0 ? (double)pages * (double)pg : 64.0 * 1073741824.0;
    return phys;
}

rt_status rt_config_parse(const char *text, const char *origin, rt_config *c) {
    memset(c, 0, sizeof *c);
    const char *o = origin ? origin : "config";
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithOpts(text, &end, 0);
    if (!j) {
        int line = 1;
        for (const char *p = text; end && p < end; p++) line += *p == '\n';
        return rt_errorf(RT_EFORMAT, "%s:%d: invalid JSON", o, line);
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return rt_errorf(RT_EFORMAT, "%s: config must be a JSON object", o);
    }
    c->json = j;
    rt_status st = RT_OK;
    c->vocab_size = get_int(j, "vocab_size", -1, o, &st);
    c->hidden_size = get_int(j, "hidden_size", 768, o, &st);
    c->num_hidden_layers = get_int(j, "num_hidden_layers", 12, o, &st);
    c->num_attention_heads = get_int(j, "num_attention_heads", 12, o, &st);
    c->intermediate_size = get_int(j, "intermediate_size", 3072, o, &st);
    c->max_position_embeddings = get_int(j, "max_position_embeddings", 512, o, &st);
    c->type_vocab_size = get_int(j, "type_vocab_size", 2, o, &st);
    c->hidden_dropout_prob = get_num(j, "hidden_dropout_prob", 0.1, o, &st);
    c->attention_probs_dropout_prob = get_num(j, "attention_probs_dropout_prob", 0.1, o, &st);
    c->initializer_range = get_num(j, "initializer_range", 0.02, o, &st);
    c->layer_norm_eps = get_num(j, "layer_norm_eps", 1e-12, o, &st);
    c->use_relative_position = get_bool(j, "use_relative_position", false, o, &st);
    c->max_relative_position = get_int(j, "max_relative_position", 64, o, &st);
    c->fit_size = get_int(j, "fit_size", 0, o, &st);
    const char *act = get_str(j, "hidden_act");
    cJSON *actj = cJSON_GetObjectItemCaseSensitive(j, "hidden_act");
    if (actj && !act && st == RT_OK) st = rt_errorf(RT_EFORMAT, "%s: hidden_act must be a string", o);
    if (!act || !strcmp(act, "gelu")) c->hidden_act = RT_ACT_GELU;
    else if (!strcmp(act, "gelu_new") || !strcmp(act, "gelu_tanh") || !strcmp(act, "gelu_pytorch_tanh"))
        c->hidden_act = RT_ACT_GELU_TANH;
    else if (!strcmp(act, "relu")) c->hidden_act = RT_ACT_RELU;
    else if (st == RT_OK)
        st = rt_errorf(RT_EINVAL, "%s: hidden_act \"%s\" is not supported (gelu, gelu_new, relu)", o, act);
    if (st == RT_OK) st = read_heads(j, c, o);
    /* labels: num_labels, else the size of id2label, else 2 */
    int nl = get_int(j, "num_labels", 0, o, &st);
    cJSON *id2 = cJSON_GetObjectItemCaseSensitive(j, "id2label");
    if (nl == 0 && cJSON_IsObject(id2)) nl = cJSON_GetArraySize(id2);
    const char *pt = get_str(j, "problem_type");
    c->regression = pt && !strcmp(pt, "regression");
    if (nl == 0) nl = c->regression ? 1 : 2;
    c->num_labels = nl;
    const char *ca = get_str(j, "classifier_activation");
    c->classifier_relu = -1;
    if (ca) {
        if (!strcmp(ca, "relu")) c->classifier_relu = 1;
        else if (!strcmp(ca, "none") || !strcmp(ca, "linear")) c->classifier_relu = 0;
        else if (st == RT_OK)
            st = rt_errorf(RT_EINVAL, "%s: classifier_activation \"%s\" must be \"relu\" or \"none\"", o, ca);
    }
    if (c->vocab_size <= 0 && st == RT_OK)
        st = rt_errorf(RT_EINVAL, "%s: vocab_size missing or not > 0", o);
    if (st == RT_OK) st = rt_config_validate(c, o);
    if (st != RT_OK) rt_config_free(c);
    return st;
}

rt_status rt_config_load(const char *path, rt_config *c) {
    size_t n;
    if (rt_file_size(path, &n) == RT_OK && n > (64 << 20))
        return rt_errorf(RT_EFORMAT, "%s: not a config file (size)", path);
    uint8_t *buf;
    rt_status st = rt_read_file(path, &buf, &n);
    if (st) return st;
    st = rt_config_parse((const char *)buf, path, c);
    free(buf);
    return st;
}

static void set_num(cJSON *j, const char *k, double v) {
    cJSON *n = cJSON_CreateNumber(v);
    if (cJSON_GetObjectItemCaseSensitive(j, k)) cJSON_ReplaceItemInObjectCaseSensitive(j, k, n);
    else cJSON_AddItemToObject(j, k, n);
}
static void set_item(cJSON *j, const char *k, cJSON *n) {
    if (cJSON_GetObjectItemCaseSensitive(j, k)) cJSON_ReplaceItemInObjectCaseSensitive(j, k, n);
    else cJSON_AddItemToObject(j, k, n);
}

void rt_config_sync(rt_config *c) {
    if (!c->json) c->json = cJSON_CreateObject();
    cJSON *j = c->json;
    set_num(j, "vocab_size", c->vocab_size);
    set_num(j, "hidden_size", c->hidden_size);
    set_num(j, "num_hidden_layers", c->num_hidden_layers);
    set_num(j, "num_attention_heads", c->num_attention_heads);
    set_num(j, "intermediate_size", c->intermediate_size);
    set_num(j, "max_position_embeddings", c->max_position_embeddings);
    set_num(j, "type_vocab_size", c->type_vocab_size);
    set_item(j, "hidden_act", cJSON_CreateString(rt_act_name(c->hidden_act)));
    set_num(j, "hidden_dropout_prob", c->hidden_dropout_prob);
    set_num(j, "attention_probs_dropout_prob", c->attention_probs_dropout_prob);
    set_num(j, "initializer_range", c->initializer_range);
    set_num(j, "layer_norm_eps", c->layer_norm_eps);
    set_item(j, "use_relative_position", cJSON_CreateBool(c->use_relative_position));
    if (c->use_relative_position || cJSON_GetObjectItemCaseSensitive(j, "max_relative_position"))
        set_num(j, "max_relative_position", c->max_relative_position);
    if (c->fit_size > 0) set_num(j, "fit_size", c->fit_size);
    else cJSON_DeleteItemFromObjectCaseSensitive(j, "fit_size");
    cJSON *h = cJSON_CreateArray();
    for (int i = 0; i < 5; i++)
        if (c->heads & (1u << i)) cJSON_AddItemToArray(h, cJSON_CreateString(HEAD_NAMES[i]));
    set_item(j, "heads", h);
    if (c->heads & (RT_HEAD_CLS | RT_HEAD_TOKCLS) || cJSON_GetObjectItemCaseSensitive(j, "num_labels"))
        set_num(j, "num_labels", c->num_labels);
    if (c->classifier_relu >= 0 && (c->heads & RT_HEAD_CLS))
        set_item(j, "classifier_activation", cJSON_CreateString(c->classifier_relu ? "relu" : "none"));
    if (c->regression) set_item(j, "problem_type", cJSON_CreateString("regression"));
}

char *rt_config_to_json(rt_config *c) {
    rt_config_sync(c);
    return cJSON_Print(c->json);
}

rt_status rt_config_copy(rt_config *dst, const rt_config *src) {
    *dst = *src;
    dst->json = src->json ? cJSON_Duplicate(src->json, 1) : NULL;
    if (src->json && !dst->json) return rt_errorf(RT_ENOMEM, "config: out of memory");
    return RT_OK;
}
