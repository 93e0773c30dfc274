/* model.h — one encoder for BERT, NEZHA and TinyBERT, its heads,
 * configuration, checkpoints and the TinyBERT distillation losses.
 *
 * Shapes: B = batch, S = sequence, H = hidden, N = heads, d = H/N, I = FFN size,
 * V = vocab, L = layers. Parameters are named exactly like the PyTorch state_dict
 * ("bert.encoder.layer.0.attention.self.query.weight", ...); linear weights are
 * [out, in]. Functions follow the core conventions (status.h / tensor.h). */
#ifndef RT_MODEL_H
#define RT_MODEL_H

#include <stdbool.h>
#include <stdint.h>
#include "../core/tensor.h"
#include "../core/rng.h"

struct cJSON;

typedef enum { RT_ACT_GELU = 0 /* erf */, RT_ACT_GELU_TANH, RT_ACT_RELU } rt_act;

/* heads (bit set) */
enum {
    RT_HEAD_MLM = 1, RT_HEAD_NSP = 2, RT_HEAD_CLS = 4, RT_HEAD_TOKCLS = 8, RT_HEAD_QA = 16,
};

typedef struct rt_config {
    int vocab_size, hidden_size, num_hidden_layers, num_attention_heads, intermediate_size;
    int max_position_embeddings, type_vocab_size;
    rt_act hidden_act;
    double hidden_dropout_prob, attention_probs_dropout_prob;
    double initializer_range, layer_norm_eps;
    bool use_relative_position;
    int max_relative_position;
    int fit_size;                 /* 0: no fit_dense */
    unsigned heads;               /* RT_HEAD_* */
    bool heads_given;             /* "heads" key present (else inferred at load) */
    int num_labels;
    int classifier_relu;          /* -1: not said (resolved at build/load), 0: none, 1: relu */
    bool regression;              /* problem_type "regression" */
    struct cJSON *json;           /* every key as read (unknown keys kept), owned */
} rt_config;

/* --- config.c --- */
/* Parse JSON text (origin names the file in messages) with the upstream PyTorch
 * defaults; validates. On error c is left empty. */
rt_status rt_config_parse(const char *text, const char *origin, rt_config *c);
rt_status rt_config_load(const char *path, rt_config *c);
/* Checks every value, the limits below, and that the parameters (estimated by
 * rt_config_param_bytes, f32) fit in this machine's memory, before allocating. */
rt_status rt_config_validate(const rt_config *c, const char *origin);
#define RT_CONFIG_MAX_VOCAB        (1 << 24)
#define RT_CONFIG_MAX_HIDDEN       65536
#define RT_CONFIG_MAX_LAYERS       1024
#define RT_CONFIG_MAX_HEADS        1024
#define RT_CONFIG_MAX_INTERMEDIATE (1 << 20)
#define RT_CONFIG_MAX_POSITIONS    (1 << 20)
#define RT_CONFIG_MAX_TYPES        65536
#define RT_CONFIG_MAX_LABELS       (1 << 20)
/* Bytes of the f32 parameters a config asks for (estimate, heads included). */
double rt_config_param_bytes(const rt_config *c);
/* Physical memory of this machine in bytes (the ceiling rt_config_validate uses). */
double rt_config_memory_limit(void);
/* Write the resolved values back into c->json (so m.config / saving show them). */
void rt_config_sync(rt_config *c);
/* Pretty JSON of c->json after rt_config_sync (malloc'd, caller frees). */
char *rt_config_to_json(rt_config *c);
rt_status rt_config_copy(rt_config *dst, const rt_config *src);
void rt_config_free(rt_config *c);
const char *rt_act_name(rt_act a);
/* "mlm" "nsp" "classifier" "token_classifier" "qa" -> bit (0 if unknown). */
unsigned rt_head_parse(const char *name);
const char *rt_head_name(unsigned bit);

/* --- bert.c: the model --- */
typedef struct { rt_tensor *w, *b; } rt_lin;      /* w [out,in], b [out] */
typedef struct { rt_tensor *w, *b; } rt_lnorm;    /* [H], [H] */

typedef struct {
    rt_lin q, k, v, ao;
    rt_lnorm aln;
    rt_lin inter, out;
    rt_lnorm oln;
} rt_layer;

typedef struct { char *name; rt_tensor **slot; } rt_param;

typedef struct rt_model {
    rt_config cfg;
    rt_tensor *word, *pos, *type;       /* [V,H], [P,H] or NULL, [T,H] */
    rt_lnorm eln;
    rt_layer *layers;                   /* [L] */
    rt_lin pooler;
    rt_lin mlm_dense; rt_lnorm mlm_ln; rt_tensor *mlm_bias;   /* MLM (decoder = word) */
    rt_lin nsp, cls, qa, fit;
    bool training;
    rt_generator *gen;                  /* dropout generator; NULL = default */
    rt_tensor *rel_table;               /* R [2K+1, d] (constant) */
    rt_tensor *rel_cache; int64_t rel_len;   /* Rel [S,S,d] for the last S */
    int nparams;
    rt_param *params;                   /* in PyTorch registration order */
    char *vocab_path;                   /* vocab.txt beside the checkpoint, or NULL */
    struct rt_infer *infer;             /* inference path state (infer.c), NULL until used */
} rt_model;

/* Build with random init (normal(0, initializer_range), biases 0, LayerNorm 1/0)
 * drawn from g (NULL: default generator). Takes ownership of *cfg (zeroed). */
rt_model *rt_model_new(rt_config *cfg, rt_generator *g);
void rt_model_free(rt_model *m);
/* The parameter with this state_dict name, or NULL. */
rt_tensor *rt_model_param(rt_model *m, const char *name);
int64_t rt_model_num_parameters(const rt_model *m);
/* The sinusoid table R [2K+1, d] of the upstream formula (float64 then float32). */
rt_tensor *rt_relative_table(int K, int d);
/* Rel [S, S, d] with Rel[i][j] = R[clip(j-i,-K,K)+K]. */
rt_tensor *rt_relative_positions(const rt_tensor *R, int K, int64_t S);

typedef struct {
    rt_tensor *input_ids;       /* [B,S] ints, required */
    rt_tensor *token_type_ids;  /* [B,S] or NULL (zeros) */
    rt_tensor *attention_mask;  /* [B,S] (1 token, 0 pad) or NULL (all ones) */
    rt_tensor *mlm_positions;   /* [B,P] ints or NULL: MLM logits at these positions only */
    bool output_probs;
    bool no_fit;                /* skip fit_dense outputs (inference) */
    /* optional labels: out->loss = sum of the head losses they enable */
    rt_tensor *labels;          /* [B] (classifier; f32 for regression) or [B,S] (token) */
    rt_tensor *mlm_labels;      /* [B,S] or [B,P] (with mlm_positions), -100 ignored */
    rt_tensor *nsp_labels;      /* [B] */
    rt_tensor *start_positions, *end_positions;  /* [B] */
} rt_model_input;

typedef struct {
    int n_layers;
    rt_tensor **hidden;         /* [L+1] each [B,S,H]; index 0 = embeddings */
    rt_tensor **att;            /* [L] each [B,N,S,S] scaled, masked, pre-softmax */
    rt_tensor **probs;          /* [L] or NULL */
    rt_tensor **fit;            /* [L+1] each [B,S,fit_size] or NULL */
    rt_tensor *pooled;          /* [B,H] */
    rt_tensor *logits;          /* [B,C] or [B,S,C] */
    rt_tensor *mlm_logits;      /* [B,S,V] or [B,P,V] */
    rt_tensor *nsp_logits;      /* [B,2] */
    rt_tensor *start_logits, *end_logits;   /* [B,S] */
    rt_tensor *loss;            /* scalar or NULL */
} rt_model_output;

rt_status rt_model_forward(rt_model *m, const rt_model_input *in, rt_model_output *out);
void rt_model_output_free(rt_model_output *o);

/* --- infer.c: the inference-only path (no graph, reused activations) ---
 * Same weights and the same arithmetic as rt_model_forward in eval mode
 * (within float rounding); one OpenMP parallel region per layer, GEMM columns
 * split across threads with bias+GELU and bias+residual+LayerNorm fused after
 * them, attention one (sequence, head) per task. Precision of the encoder's
 * linear layers: fp32, bf16 (bf16 inputs, fp32 accumulation; LayerNorm,
 * softmax and the heads stay fp32) or int8 (dynamic per-row activations,
 * per-channel weights). Setting a precision packs the weights as they are
 * (fp32 too: prepacked panels, no per-call packing): set it again after
 * changing them. RT_PREC_LIVE (the default) drops the packed copies and reads
 * the live fp32 weights through the BLAS on every call. */
typedef enum { RT_PREC_F32 = 0, RT_PREC_BF16, RT_PREC_INT8, RT_PREC_LIVE } rt_prec;
rt_status rt_model_set_precision(rt_model *m, rt_prec p);
rt_prec rt_model_precision(const rt_model *m);
const char *rt_prec_name(rt_prec p);
/* True when the bf16 / int8 GEMMs run on native instructions (else emulated). */
bool rt_model_precision_native(const rt_model *m);
/* in: input_ids, token_type_ids, attention_mask, mlm_positions (labels allowed:
 * losses as rt_model_forward). out: hidden[L] only (= last hidden state
 * [B,S,H]), pooled and the head outputs; att/probs/fit are NULL. Never builds
 * autograd nodes, whatever the grad mode and m->training. */
rt_status rt_model_infer(rt_model *m, const rt_model_input *in, rt_model_output *o);
void rt_infer_free(rt_model *m);

/* --- heads.c (called by rt_model_forward) --- */
rt_status rt_heads_forward(rt_model *m, const rt_model_input *in, rt_model_output *o);

/* --- act.c (shared by the encoder and the heads) --- */
/* The configured activation (gelu / gelu_new / relu) of x, one autograd op. */
rt_tensor *rt_apply_act(rt_act a, rt_tensor *x);

/* --- checkpoint.c --- */
typedef struct {
    bool strict;
    int num_labels;             /* 0: from config */
    unsigned heads;             /* 0: config / inferred from the weights */
    int classifier_relu;        /* -1: config / rule */
    int regression;             /* -1: config, 0: classification, 1: problem_type regression */
    char report[4096];          /* missing / unexpected keys (out) */
    int n_missing, n_unexpected;
} rt_load_opts;
/* dir (config.json | bert_config.json + model.safetensors | pytorch_model.bin |
 * model.ckpt.index) or a weights file (config beside it). */
rt_model *rt_model_load(const char *path, rt_load_opts *o);
/* format "safetensors" | "bin"; writes config.json + weights (+ vocab.txt). */
rt_status rt_model_save(rt_model *m, const char *dir, const char *format);

/* --- distill.c --- */
/* Uniform TinyBERT maps: att[i] = i*k+k-1 (i < Ls), hid[j] = j*k (j <= Ls). */
rt_status rt_distill_uniform_map(int student_layers, int teacher_layers, int *att, int *hid);
/* Check a custom map (att: Ls entries in [0,Lt); hid: Ls+1 entries in [0,Lt]). */
rt_status rt_distill_check_map(int student_layers, int teacher_layers, const int *att,
                               const int *hid);
/* sum_i MSE(z(s_att[i]), z(t_att[map[i]])), z(x) = x <= -100 ? 0 : x. Teacher detached. */
rt_tensor *rt_distill_att_loss(rt_tensor *const *s_att, int ns, rt_tensor *const *t_att, int nt,
                               const int *map);
/* sum_j MSE(s_fit[j], t_hidden[map[j]]). */
rt_tensor *rt_distill_rep_loss(rt_tensor *const *s_fit, int ns, rt_tensor *const *t_hid, int nt,
                               const int *map);
/* soft CE at temperature T (classification) or MSE(s.view(-1), gold) when gold != NULL. */
rt_tensor *rt_distill_pred_loss(rt_tensor *s_logits, rt_tensor *t_logits, double T,
                                rt_tensor *gold);

#endif
