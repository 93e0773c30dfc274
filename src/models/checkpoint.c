/* checkpoint.c — rt_model_load / rt_model_save: config + weights in a folder
 * (model.safetensors, pytorch_model.bin, TF1 model.ckpt.index) read through the
 * src/io readers, PyTorch/HF/TinyBERT key fix-ups, an HF-like report of missing
 * and unexpected keys, and atomic saving of config.json + weights (+ vocab.txt). */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "model.h"
#include "weights_io.h"
#include "dirsave.h"
#include "../io/ioutil.h"
#include "../io/tensor_dict.h"

static bool file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}
static bool dir_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* out = a/b; false (message set) when too long */
static bool join(char *out, size_t n, const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    if (la + lb + 2 > n) { rt_errorf(RT_EIO, "%s/%s: path too long", a, b); return false; }
    memcpy(out, a, la);
    out[la] = '/';
    memcpy(out + la + 1, b, lb + 1);
    return true;
}

static bool ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* Find the weights file in dir: model.safetensors, pytorch_model.bin, model.ckpt.index,
 * else any *.safetensors / *.bin / *.index (TF prefix like model.ckpt-1000). */
static bool find_weights(const char *dir, char *out, size_t n) {
    static const char *names[] = {"model.safetensors", "pytorch_model.bin", "model.ckpt.index",
                                  "bert_model.ckpt.index", NULL};
    for (int i = 0; names[i]; i++)
        if (rt_dirsave_resolve(dir, names[i], out, n)) return true;
    DIR *d = opendir(dir);
    if (!d) return false;
    struct dirent *e;
    bool found = false;
    static const char *sufs[] = {".safetensors", ".bin", ".ckpt.index", ".index", NULL};
    for (int s = 0; sufs[s] && !found; s++) {
        rewinddir(d);
        while ((e = readdir(d)))
            if (e->d_name[0] != '.' && ends_with(e->d_name, sufs[s]) && strncmp(e->d_name, "training_args", 13)) {
                join(out, n, dir, e->d_name);
                if (file_exists(out)) { found = true; break; }
            }
    }
    closedir(d);
    return found;
}

/* ------------------------------------------------------------------ key fix-ups */

static void replace_suffix(char *s, const char *from, const char *to) {
    size_t a = strlen(s), b = strlen(from);
    if (a >= b && !strcmp(s + a - b, from)) strcpy(s + a - b, to);
}

/* Canonical PyTorch name for a checkpoint key (TF checkpoints arrive with
 * PyTorch names already, see weights_io.c). Returns false for keys that are skipped silently (tied decoder copy,
 * position_ids buffers, optimizer slots). */
static bool canon_name(const char *key, char *out, size_t n) {
    const char *k = key;
    if (!strncmp(k, "module.", 7)) k += 7;
    snprintf(out, n, "%s", k);
    replace_suffix(out, ".gamma", ".weight");
    replace_suffix(out, ".beta", ".bias");
    if (!strncmp(out, "fit_denses.0.", 13)) {       /* TinyBERT v2: one projection per layer */
        memmove(out + 9, out + 12, strlen(out + 12) + 1);
        memcpy(out, "fit_dense", 9);
    }
    static const char *under_bert[] = {"embeddings.", "encoder.", "pooler.", NULL};
    for (int i = 0; under_bert[i]; i++)
        if (!strncmp(out, under_bert[i], strlen(under_bert[i]))) {
            size_t len = strlen(out);
            if (len + 6 > n) return false;
            memmove(out + 5, out, len + 1);
            memcpy(out, "bert.", 5);
            break;
        }
    if (!strcmp(out, "bert.embeddings.position_ids") || !strcmp(out, "cls.predictions.decoder.weight") ||
        !strcmp(out, "cls.predictions.decoder.bias"))
        return false;
    return true;
}

/* ------------------------------------------------------------------ load */

typedef struct { char *name; rt_tensor *t; int used; } ckey;

static void report_add(rt_load_opts *o, const char *title, int *count, const char *name) {
    size_t len = strlen(o->report);
    if (*count == 0) snprintf(o->report + len, sizeof o->report - len, "%s", title), len = strlen(o->report);
    if (len + strlen(name) + 8 < sizeof o->report)
        snprintf(o->report + len, sizeof o->report - len, "  %s\n", name);
    else if (!strstr(o->report, "  ...\n") && len + 8 < sizeof o->report)
        strcat(o->report, "  ...\n");
    (*count)++;
}

static int find_key(ckey *ks, int nk, const char *name) {
    for (int i = 0; i < nk; i++) if (!strcmp(ks[i].name, name)) return i;
    return -1;
}

/* copy the checkpoint tensors into m; fills the report */
static rt_status fill_model(rt_model *m, ckey *ks, int nk, const char *origin, rt_load_opts *o) {
    for (int p = 0; p < m->nparams; p++) {
        const char *pn = m->params[p].name;
        int i = find_key(ks, nk, pn);
        if (i < 0 && !strncmp(pn, "bert.", 5)) i = find_key(ks, nk, pn + 5);
        if (i < 0) {
            char alt[512];
            snprintf(alt, sizeof alt, "bert.%s", pn);
            i = find_key(ks, nk, alt);
        }
        rt_tensor *dst = *m->params[p].slot;
        if (i < 0 && (!strncmp(pn, "bert.encoder.", 13) || !strncmp(pn, "bert.embeddings.", 16))) {
            /* a missing-keys report is not enough: the config promises layers the
             * weights do not have (e.g. a config saved over other weights) */
            int n_body = 0;
            for (int q = p; q < m->nparams; q++) {
                const char *qn = m->params[q].name;
                if ((!strncmp(qn, "bert.encoder.", 13) || !strncmp(qn, "bert.embeddings.", 16)) &&
                    find_key(ks, nk, qn) < 0 && find_key(ks, nk, qn + 5) < 0)
                    n_body++;
            }
            return rt_errorf(RT_EFORMAT, "%s: config and weights disagree: the config (%d layers, hidden %d) needs %s, "
                             "which the weights lack (%d encoder/embedding tensors missing); refusing to "
                             "initialise them at random", origin, m->cfg.num_hidden_layers, m->cfg.hidden_size, pn, n_body);
        }
        if (i < 0) { report_add(o, "missing keys (newly initialised):\n", &o->n_missing, pn); continue; }
        ks[i].used = 1;
        rt_tensor *src = ks[i].t;
        if (!rt_same_shape(src, dst)) {
            char b1[64], b2[64];
            if (!strncmp(pn, "classifier.", 11) || !strncmp(pn, "qa_outputs.", 11)) {
                char note[600];
                snprintf(note, sizeof note, "%s (checkpoint %s, model %s)", pn, rt_shape_str(src, b1, sizeof b1),
                         rt_shape_str(dst, b2, sizeof b2));
                report_add(o, "missing keys (newly initialised):\n", &o->n_missing, note);
                continue;
            }
            return rt_errorf(RT_ESHAPE, "%s: %s has shape %s in the checkpoint but %s in the model (check the config)",
                             origin, ks[i].name, rt_shape_str(src, b1, sizeof b1), rt_shape_str(dst, b2, sizeof b2));
        }
        if (src->dtype != RT_F32 && src->dtype != RT_BF16)
            return rt_errorf(RT_EDTYPE, "%s: %s has dtype %s; a float tensor is expected", origin, ks[i].name,
                             rt_dtype_name(src->dtype));
        rt_status st = rt_tensor_copy_(dst, src);
        if (st) { rt_error_prefix("%s: %s", origin, ks[i].name); return st; }
    }
    for (int i = 0; i < nk; i++)
        if (!ks[i].used) report_add(o, "unexpected keys (not used):\n", &o->n_unexpected, ks[i].name);
    return RT_OK;
}

static int count_rows(ckey *ks, int nk, const char *name) {
    int i = find_key(ks, nk, name);
    return i >= 0 && ks[i].t->ndim >= 1 ? (int)ks[i].t->shape[0] : -1;
}
static bool has_prefix(ckey *ks, int nk, const char *pre) {
    for (int i = 0; i < nk; i++) if (!strncmp(ks[i].name, pre, strlen(pre))) return true;
    return false;
}

static bool cJSON_has_num_labels(const rt_config *c) {
    return c->json && (cJSON_GetObjectItemCaseSensitive(c->json, "num_labels") ||
                       cJSON_GetObjectItemCaseSensitive(c->json, "id2label"));
}

/* heads, fit_size, num_labels, classifier variant from the weights */
static void infer_config(rt_config *c, ckey *ks, int nk, const rt_load_opts *o) {
    bool fit = find_key(ks, nk, "fit_dense.weight") >= 0;
    if (o->heads) c->heads = o->heads;
    else if (!c->heads_given) {
        unsigned h = 0;
        if (has_prefix(ks, nk, "cls.predictions.")) h |= RT_HEAD_MLM;
        if (has_prefix(ks, nk, "cls.seq_relationship.")) h |= RT_HEAD_NSP;
        if (find_key(ks, nk, "classifier.weight") >= 0) h |= RT_HEAD_CLS;
        if (has_prefix(ks, nk, "qa_outputs.")) h |= RT_HEAD_QA;
        c->heads = h;
    }
    if (c->heads & RT_HEAD_CLS && c->heads & RT_HEAD_TOKCLS) c->heads &= ~(unsigned)RT_HEAD_CLS;
    if (o->regression >= 0) c->regression = o->regression == 1;
    if (o->num_labels > 0) c->num_labels = o->num_labels;
    else if (o->regression == 1) c->num_labels = 1;
    else if (c->heads & (RT_HEAD_CLS | RT_HEAD_TOKCLS)) {
        int r = count_rows(ks, nk, "classifier.weight");
        if (r > 0 && !cJSON_has_num_labels(c)) c->num_labels = r;
    }
    if (c->fit_size <= 0 && fit) c->fit_size = count_rows(ks, nk, "fit_dense.weight");
    if (o->classifier_relu >= 0) c->classifier_relu = o->classifier_relu;
    else if (c->classifier_relu < 0) c->classifier_relu = fit ? 1 : 0;
}

rt_model *rt_model_load(const char *path, rt_load_opts *o) {
    char dir[PATH_MAX], wpath[PATH_MAX], cpath[PATH_MAX];
    o->report[0] = 0;
    o->n_missing = o->n_unexpected = 0;
    if (dir_exists(path)) {
        snprintf(dir, sizeof dir, "%s", path);
        if (!find_weights(dir, wpath, sizeof wpath)) {
            rt_errorf(RT_EIO, "%s: no weights found (model.safetensors, pytorch_model.bin or model.ckpt.index)", path);
            return NULL;
        }
    } else {
        snprintf(wpath, sizeof wpath, "%s", path);
        if (!file_exists(wpath)) {
            char idx[PATH_MAX];
            snprintf(idx, sizeof idx, "%s.index", path);            /* TF prefix */
            if (!file_exists(idx)) { rt_errorf(RT_EIO, "%s: no such file or folder", path); return NULL; }
            snprintf(wpath, sizeof wpath, "%s", idx);
        }
        char tmp[PATH_MAX];
        snprintf(tmp, sizeof tmp, "%s", wpath);
        snprintf(dir, sizeof dir, "%s", dirname(tmp));
    }
    if (!rt_dirsave_resolve(dir, "config.json", cpath, sizeof cpath) &&
        !rt_dirsave_resolve(dir, "bert_config.json", cpath, sizeof cpath)) {
        rt_errorf(RT_EIO, "%s: no config.json or bert_config.json beside the weights", dir);
        return NULL;
    }
    rt_config cfg;
    if (rt_config_load(cpath, &cfg)) return NULL;
    rt_tensor_dict *d = rt_weights_load(wpath);
    if (!d) { rt_config_free(&cfg); return NULL; }
    ckey *ks = calloc((size_t)d->n + 1, sizeof *ks);
    int nk = 0;
    rt_model *m = NULL;
    if (!ks) { rt_errorf(RT_ENOMEM, "%s: out of memory", wpath); goto done; }
    for (int i = 0; i < d->n; i++) {
        char nm[512];
        if (!canon_name(d->items[i].name, nm, sizeof nm)) continue;
        if (find_key(ks, nk, nm) >= 0) continue;       /* same tensor under two spellings */
        ks[nk].name = strdup(nm);
        ks[nk].t = d->items[i].t;
        nk++;
    }
    infer_config(&cfg, ks, nk, o);
    if (rt_config_validate(&cfg, cpath)) { rt_config_free(&cfg); goto done; }
    m = rt_model_new(&cfg, NULL);
    if (!m) { rt_error_prefix("%s", cpath); rt_config_free(&cfg); goto done; }
    if (fill_model(m, ks, nk, wpath, o)) { rt_model_free(m); m = NULL; goto done; }
    if (o->strict && (o->n_missing || o->n_unexpected)) {
        rt_errorf(RT_EFORMAT, "%s: strict load failed:\n%s", wpath, o->report);
        rt_model_free(m);
        m = NULL;
        goto done;
    }
    char vp[PATH_MAX];
    if (rt_dirsave_resolve(dir, "vocab.txt", vp, sizeof vp)) m->vocab_path = strdup(vp);
done:
    for (int i = 0; i < nk; i++) free(ks[i].name);
    free(ks);
    rt_tdict_free(d);
    return m;
}

/* ------------------------------------------------------------------ save */

/* Stage m's weights as model.safetensors, or pytorch_model.bin when bin. */
static rt_status stage_weights(rt_dirsave *ds, rt_model *m, bool bin) {
    rt_tensor_dict *d = rt_tdict_new();
    if (!d) return rt_last_status();
    rt_status st = RT_OK;
    for (int i = 0; i < m->nparams && !st; i++) {
        st = rt_tdict_add(d, m->params[i].name, *m->params[i].slot);
        /* the tied decoder appears in a PyTorch state_dict, sharing the word embeddings */
        if (!st && bin && m->mlm_bias && !strcmp(m->params[i].name, "cls.predictions.bias"))
            st = rt_tdict_add(d, "cls.predictions.decoder.weight", m->word);
    }
    if (!st) {
        const char *path = rt_dirsave_stage(ds, bin ? "pytorch_model.bin" : "model.safetensors");
        if (!path) st = rt_last_status();
        if (!bin && !st) st = rt_tdict_set_meta(d, "format", "pt");
        if (!st) st = rt_weights_save(path, d, bin);
    }
    rt_tdict_free(d);
    return st;
}

/* The whole folder is replaced as one (dirsave.h): config.json, the weights and
 * vocab.txt are staged, then committed together; a weights file of the other
 * format left from an earlier save is rewritten in the same commit, so the folder
 * never pairs the new config with old weights. */
rt_status rt_model_save(rt_model *m, const char *dir, const char *format) {
    bool bin = format && !strcmp(format, "bin");
    if (format && !bin && strcmp(format, "safetensors"))
        return rt_errorf(RT_EINVAL, "save: format must be \"safetensors\" or \"bin\" (got \"%s\")", format);
    rt_dirsave ds;
    rt_status st = rt_dirsave_begin(&ds, dir);
    if (st) return st;
    char *json = rt_config_to_json(&m->cfg);
    if (!json) return rt_errorf(RT_ENOMEM, "save: out of memory");
    size_t jl = strlen(json);
    char *j2 = realloc(json, jl + 2);
    if (!j2) { free(json); return rt_errorf(RT_ENOMEM, "save: out of memory"); }
    json = j2;
    json[jl] = '\n';
    const char *path = rt_dirsave_stage(&ds, "config.json");
    st = path ? rt_write_file_atomic(path, json, jl + 1) : rt_last_status();
    free(json);
    if (st) goto fail;
    /* the requested format; a weights file of the other format already there is
     * rewritten from this model in the same commit (never left stale beside it) */
    char other_path[PATH_MAX];
    bool other = rt_dirsave_resolve(dir, bin ? "model.safetensors" : "pytorch_model.bin", other_path, sizeof other_path);
    if ((st = stage_weights(&ds, m, bin))) goto fail;
    if (other && (st = stage_weights(&ds, m, !bin))) goto fail;
    if (m->vocab_path) {
        char vp[PATH_MAX], a[PATH_MAX], b[PATH_MAX];
        if (!join(vp, sizeof vp, dir, "vocab.txt")) { st = rt_last_status(); goto fail; }
        if (!(realpath(m->vocab_path, a) && realpath(vp, b) && !strcmp(a, b))) {
            uint8_t *buf; size_t len;
            if ((st = rt_read_file(m->vocab_path, &buf, &len))) goto fail;
            path = rt_dirsave_stage(&ds, "vocab.txt");
            st = path ? rt_write_file_atomic(path, buf, len) : rt_last_status();
            free(buf);
            if (st) goto fail;
        }
    }
    return rt_dirsave_commit(&ds);
fail:
    rt_dirsave_abort(&ds);
    return st;
}
