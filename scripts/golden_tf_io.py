#!/usr/bin/env python3
"""Writes tiny TF1 checkpoints for the io tests (tests/golden/tfckpt/).

Needs TensorFlow (not part of make test): python3 -m venv /tmp/tfenv &&
/tmp/tfenv/bin/pip install tensorflow-cpu numpy && /tmp/tfenv/bin/python scripts/golden_tf_io.py

- model.ckpt.{index,data-0000N-of-00002}: BERT/NEZHA-style names (kernels, gamma/beta,
  layer_N, cls/..., a fine-tuning classifier and a squad head), optimizer slots
  (adam_m/adam_v/lamb_m/lamb_v), global_step, loss-scale variables, and variables of
  other dtypes (int32, int64, half, double, bfloat16, bool, string), split over two
  shards (two logical CPUs, Saver(sharded=True)).
- expected.safetensors: every numeric variable's value under its TF name (half, double
  -> f32; bool -> BOOL; bf16 -> BF16).
- many.ckpt.*: 300 small variables, so the index spans several SSTable blocks.
"""
import json
import os
import struct
import sys

import numpy as np
import tensorflow as tf

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "golden", "tfckpt")


def save_safetensors(path, tensors):
    dt = {np.float32: "F32", np.int32: "I32", np.int64: "I64", np.bool_: "BOOL", np.uint16: "BF16"}
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        a = np.array(tensors[name], order="C")  # keeps 0-d shapes
        b = a.tobytes()
        header[name] = {"dtype": dt[a.dtype.type], "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    os.makedirs(OUT, exist_ok=True)
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
    tf.compat.v1.disable_eager_execution()
    rng = np.random.RandomState(3)
    H, V, I = 4, 10, 8
    f32 = {
        "bert/embeddings/word_embeddings": (V, H), "bert/embeddings/token_type_embeddings": (2, H),
        "bert/embeddings/position_embeddings": (6, H),
        "bert/embeddings/LayerNorm/gamma": (H,), "bert/embeddings/LayerNorm/beta": (H,),
        "bert/encoder/layer_0/attention/self/query/kernel": (H, H), "bert/encoder/layer_0/attention/self/query/bias": (H,),
        "bert/encoder/layer_0/attention/output/LayerNorm/gamma": (H,),
        "bert/encoder/layer_11/intermediate/dense/kernel": (H, I), "bert/encoder/layer_11/output/dense/kernel": (I, H),
        "bert/pooler/dense/kernel": (H, H),
        "cls/predictions/transform/dense/kernel": (H, H), "cls/predictions/output_bias": (V,),
        "cls/seq_relationship/output_weights": (2, H), "cls/seq_relationship/output_bias": (2,),
        "output_weights": (3, H), "output_bias": (3,), "cls/squad/output_weights": (2, H), "cls/squad/output_bias": (2,),
        "bert/embeddings/word_embeddings/adam_m": (V, H), "bert/embeddings/word_embeddings/adam_v": (V, H),
        "bert/pooler/dense/kernel/lamb_m": (H, H), "bert/pooler/dense/kernel/lamb_v": (H, H),
        "loss_scale": (), "current_loss_scale": (),
    }
    values, expected, var_list = {}, {}, []
    with tf.Graph().as_default():
        for i, (name, shape) in enumerate(sorted(f32.items())):
            v = np.asarray(rng.randn(*shape), np.float32)
            with tf.device("/cpu:%d" % (i % 2)):
                var_list.append(tf.compat.v1.get_variable(name, initializer=v))
            expected[name] = v
        other = {
            "global_step": np.array(1234, np.int64), "good_steps": np.array(7, np.int32),
            "extra/int32": np.array([1, -2, 3], np.int32), "extra/int64": np.array([[2**40, -1]], np.int64),
            "extra/half": np.array([1.0, -2.5, 65504.0], np.float16), "extra/double": np.array([0.125, -3.0], np.float64),
            "extra/bool": np.array([True, False, True]),
        }
        for i, (name, v) in enumerate(sorted(other.items())):
            with tf.device("/cpu:%d" % (i % 2)):
                var_list.append(tf.compat.v1.get_variable(name, initializer=v))
            e = v
            if v.dtype in (np.float16, np.float64):
                e = v.astype(np.float32)
            expected[name] = e
        bf = np.array([1.5, -2.0, 3.25], np.float32)
        with tf.device("/cpu:1"):
            var_list.append(tf.Variable(tf.cast(bf, tf.bfloat16), name="extra/bf16"))
            var_list.append(tf.Variable(["a", "bc"], name="extra/string"))
        expected["extra/bf16"] = (bf.view(np.uint32) >> 16).astype(np.uint16)
        saver = tf.compat.v1.train.Saver(var_list=var_list, sharded=True)
        with tf.compat.v1.Session() as s:
            s.run(tf.compat.v1.global_variables_initializer())
            saver.save(s, os.path.join(OUT, "model.ckpt"), write_meta_graph=False, write_state=False)
    save_safetensors(os.path.join(OUT, "expected.safetensors"), expected)
    with tf.Graph().as_default():
        vs = [tf.compat.v1.get_variable("many/v_%03d" % i, initializer=np.array([i, -i], np.float32)) for i in range(300)]
        saver = tf.compat.v1.train.Saver(var_list=vs)
        with tf.compat.v1.Session() as s:
            s.run(tf.compat.v1.global_variables_initializer())
            saver.save(s, os.path.join(OUT, "many.ckpt"), write_meta_graph=False, write_state=False)


if __name__ == "__main__":
    main()
