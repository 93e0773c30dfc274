#!/usr/bin/env python3
"""Writes a real TF1 checkpoint of the tiny NEZHA fixture with TensorFlow itself:
tests/golden/models/nezha_tf/{bert_config.json, model.ckpt.index,
model.ckpt.data-00000-of-00001}, holding the same weights as
tests/golden/models/nezha/model.safetensors under the variable names of the
upstream TF code (BERT modeling.py variable names: layer_N, kernel [in, out] = weight transposed,
gamma/beta, output_bias, cls/seq_relationship/output_weights untransposed,
top-level output_weights/output_bias for the classifier) plus what real training
checkpoints carry and a loader must skip: adam_m/adam_v and lamb_m/lamb_v slots and
global_step.

TensorFlow is a development-only tool here; run in a throwaway venv:
    python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu
    /tmp/tfenv/bin/python scripts/make_golden_tf.py
(needs only numpy + tensorflow; the safetensors file is read by hand)."""
import json
import os
import re
import struct
import sys

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
SRC = os.path.join(ROOT, "tests", "golden", "models", "nezha")
OUT = os.path.join(ROOT, "tests", "golden", "models", "nezha_tf")


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", name
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[b:e], dtype=np.float32).reshape(info["shape"]).copy()
    return out


def tf_name(pt):
    """PyTorch state_dict name -> (TF variable name, transpose?)."""
    if pt == "cls.predictions.bias":
        return "cls/predictions/output_bias", False
    if pt.startswith("cls.seq_relationship."):
        return "cls/seq_relationship/" + ("output_weights" if pt.endswith("weight") else "output_bias"), False
    if pt.startswith("classifier."):
        return ("output_weights" if pt.endswith("weight") else "output_bias"), False
    parts = pt.split(".")
    last = parts[-1]
    path = parts[:-1]
    path = [f"layer_{path[i + 1]}" if p == "layer" else p for i, p in enumerate(path)
            if not (i > 0 and path[i - 1] == "layer")]
    if path[-1].endswith("_embeddings"):
        return "/".join(path), False
    if path[-1] == "LayerNorm":
        return "/".join(path + ["gamma" if last == "weight" else "beta"]), False
    if last == "weight":
        return "/".join(path + ["kernel"]), True
    return "/".join(path + ["bias"]), False


def main():
    import tensorflow as tf
    tf.compat.v1.disable_eager_execution()
    w = read_safetensors(os.path.join(SRC, "model.safetensors"))
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(SRC, "config.json")) as f:
        cfg = json.load(f)
    # a TF-style bert_config.json: no retort keys (heads, classifier variant) — the
    # loader infers them from the variables
    for k in ("heads", "classifier_activation"):
        cfg.pop(k, None)
    with open(os.path.join(OUT, "bert_config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    g = tf.Graph()
    with g.as_default():
        tvars = []
        for name in sorted(w):
            tn, tr = tf_name(name)
            arr = w[name].T.copy() if tr else w[name]
            tvars.append(tf.compat.v1.get_variable(tn, initializer=tf.constant(arr)))
        # optimizer slots and bookkeeping a loader must skip
        tf.compat.v1.get_variable("bert/embeddings/word_embeddings/adam_m", initializer=tf.constant(np.ones_like(w["bert.embeddings.word_embeddings.weight"])))
        tf.compat.v1.get_variable("bert/pooler/dense/kernel/adam_v", initializer=tf.constant(np.ones((32, 32), np.float32)))
        tf.compat.v1.get_variable("bert/pooler/dense/bias/lamb_m", initializer=tf.constant(np.ones(32, np.float32)))
        tf.compat.v1.get_variable("bert/pooler/dense/bias/lamb_v", initializer=tf.constant(np.ones(32, np.float32)))
        tf.compat.v1.train.get_or_create_global_step()
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=g) as s:
            s.run(tf.compat.v1.global_variables_initializer())
            saver.save(s, os.path.join(OUT, "model.ckpt"), write_meta_graph=False, write_state=False)
    for f in os.listdir(OUT):
        if not re.match(r"(bert_config\.json|model\.ckpt\.(index|data-\d+-of-\d+))$", f):
            os.remove(os.path.join(OUT, f))
    print("wrote", sorted(os.listdir(OUT)), file=sys.stderr)


if __name__ == "__main__":
    main()
