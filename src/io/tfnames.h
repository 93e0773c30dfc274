/* tfnames.h — TF1 BERT/NEZHA variable names -> PyTorch state_dict names, as
 * the upstream converter does (convert_bert_original_tf_checkpoint_to_pytorch.py): '/' -> '.', layer_N -> layer.N,
 * kernel/gamma/output_weights -> weight, beta/output_bias -> bias, *_embeddings
 * -> *_embeddings.weight, top-level output_weights/output_bias -> classifier.*,
 * cls/squad/x -> qa_outputs.x; kernels are transposed ([in,out] -> [out,in]).
 * Optimizer slots (adam_m, adam_v, lamb_m, lamb_v, Adam, Adam_1, LAMB, Momentum),
 * global_step, beta1/2_power and loss-scale variables are skipped. */
#ifndef RT_TFNAMES_H
#define RT_TFNAMES_H

#include <stddef.h>

/* Returns 1 with the PyTorch name in out (and *transpose), 0 when the variable
 * is not a model weight (skip), -1 when out is too small. */
int rt_tf_to_torch_name(const char *tf, char *out, size_t n, int *transpose);

/* The inverse, for writing TF1 checkpoints: PyTorch state_dict name -> TF1 BERT/NEZHA
 * variable name (layer.N -> layer_N, weight -> kernel (transposed) / gamma (LayerNorm)
 * / output_weights (cls.seq_relationship, classifier, qa_outputs), bias -> bias / beta
 * / output_bias, *_embeddings.weight -> *_embeddings, cls.predictions.bias ->
 * cls/predictions/output_bias, classifier.x -> output_x, qa_outputs.x -> cls/squad/x).
 * Returns 1, 0 for names TF does not store (the tied cls.predictions.decoder.*,
 * position_ids), -1 when out is too small. */
int rt_torch_to_tf_name(const char *pt, char *out, size_t n, int *transpose);

#endif
