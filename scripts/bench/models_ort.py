#!/usr/bin/python3
"""ONNX Runtime peer of scripts/bench/models.lua (inference rows only): the same
models as scripts/bench/models.py (the reference implementation in
scripts/golden/models.py, same init), exported with torch.onnx.export, run by
onnxruntime's CPU provider with intra_op_num_threads = --threads and every graph
optimisation on; int8 = onnxruntime.quantization.quantize_dynamic (per-channel
int8 weights, dynamic u8 activations: the scheme retort's m:quantize() uses).
Needs torch, onnx and onnxruntime (scripts/bench/torch-peer.sh installs them).

  $(scripts/bench/torch-peer.sh) scripts/bench/models_ort.py --threads 2 [--models ...]
                  [--modes infer1,infer32] [--precs fp32,int8] [--seq 128]
prints  bench model_<mode> impl=onnxruntime model=... prec=... ms=... peak_rss_mb=...
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from models import MODELS, peak_rss_mb  # noqa: E402  (the same model table as the PyTorch peer)


def run_one(name, mode, threads, prec, seq):
    import onnxruntime as ort
    import torch
    import importlib.util
    sys.path.insert(0, os.path.join(HERE, "..", "golden"))   # its helpers (common.py)
    spec = importlib.util.spec_from_file_location("golden_models", os.path.join(HERE, "..", "golden", "models.py"))
    ref = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ref)   # the reference model (this directory's models.py is the PyTorch peer)
    torch.manual_seed(0)
    torch.set_num_threads(threads)
    c = dict(MODELS[name], hidden_act="gelu", max_position_embeddings=512, type_vocab_size=2, heads=[], _seed=0)
    m = ref.Model(c)
    with torch.no_grad():
        for n, p in m.named_parameters():
            if n.endswith("LayerNorm.weight"):
                p.fill_(1.0)
            elif n.endswith("bias"):
                p.zero_()
            else:
                p.normal_(0, 0.02)
    m.eval()

    class Wrap(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, ids, tt, mask):
            return self.inner(ids, tt, mask)["hidden"][-1]

    B = 1 if mode == "infer1" else 32
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, c["vocab_size"], (B, seq), generator=g)
    tt = torch.zeros(B, seq, dtype=torch.int64)
    mask = torch.ones(B, seq, dtype=torch.int64)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "model.onnx")
        import contextlib
        import io
        import warnings
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):   # exporter chatter
            warnings.simplefilter("ignore")
            torch.onnx.export(Wrap(m), (ids, tt, mask), path, input_names=["ids", "tt", "mask"], output_names=["h"])
        if prec == "int8":
            import logging
            logging.getLogger().setLevel(logging.ERROR)
            from onnxruntime.quantization import QuantType, quantize_dynamic
            q = os.path.join(d, "model.int8.onnx")
            quantize_dynamic(path, q, weight_type=QuantType.QInt8, per_channel=True)
            path = q
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    feed = {"ids": ids.numpy(), "tt": tt.numpy(), "mask": mask.numpy()}
    reps = 20 if mode == "infer1" else 3
    for _ in range(2 if mode == "infer1" else 1):
        sess.run(None, feed)
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        sess.run(None, feed)
        ts.append(time.perf_counter() - t0)
    ts.sort()
    ms = ts[len(ts) // 2] * 1e3
    print(f"bench model_{mode} impl=onnxruntime model={name} prec={prec} batch={B} seq={seq} threads={threads} "
          f"ms={ms:.1f} tok_per_s={B * seq / (ms / 1e3):.0f} peak_rss_mb={peak_rss_mb():.0f}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default="bert-base,nezha-base,tinybert6,tinybert4")
    ap.add_argument("--modes", default="infer1,infer32")
    ap.add_argument("--precs", default="fp32,int8")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--one", nargs=3, metavar=("MODEL", "MODE", "PREC"))
    a = ap.parse_args()
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as e:
        print(f"# models_ort.py: skipped ({e}; scripts/bench/torch-peer.sh sets up a Python with onnxruntime)",
              flush=True)
        return
    if a.one:
        run_one(a.one[0], a.one[1], a.threads, a.one[2], a.seq)
        return
    for name in a.models.split(","):
        for mode in a.modes.split(","):
            if mode == "train":
                continue
            for prec in a.precs.split(","):
                subprocess.run([sys.executable, os.path.abspath(__file__), "--threads", str(a.threads),
                                "--seq", str(a.seq), "--one", name, mode, prec], check=False)


if __name__ == "__main__":
    main()
