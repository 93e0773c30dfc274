#!/usr/bin/python3
"""PyTorch peer of scripts/bench/models.lua: the same four models (bert-base,
nezha-base, tinybert6, tinybert4), written like the upstream code (the reference
implementation in scripts/golden/models.py), at PyTorch's best fp32 configuration
(run.sh sets the OpenBLAS/OMP/malloc environment; inference under
torch.inference_mode). Each (model, mode) runs in its own process so that the peak
RSS (VmHWM) belongs to it alone.

  /usr/bin/python3 scripts/bench/models.py --threads 2 [--models bert-base,...] [--modes infer1,infer32,train]
                  [--precs fp32,bf16] [--seq 128]
prints  bench model_<mode> impl=pytorch model=... prec=... ms=... peak_rss_mb=...
bf16 = torch.autocast("cpu", dtype=torch.bfloat16) around the forward (and the
training step's forward, as the PyTorch docs advise).
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))

MODELS = {
    "bert-base": dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                      intermediate_size=3072),
    "nezha-base": dict(vocab_size=21128, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                       intermediate_size=3072, use_relative_position=True, max_relative_position=64),
    "tinybert6": dict(vocab_size=30522, hidden_size=768, num_hidden_layers=6, num_attention_heads=12,
                      intermediate_size=3072),
    "tinybert4": dict(vocab_size=30522, hidden_size=312, num_hidden_layers=4, num_attention_heads=12,
                      intermediate_size=1200),
}
MODELS["tiny"] = dict(vocab_size=1000, hidden_size=128, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=512)
SEQ = 128


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return -1.0


def run_one(name, mode, threads, prec="fp32"):
    import contextlib
    import torch
    ac = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if prec == "bf16" else contextlib.nullcontext
    sys.path.insert(0, os.path.join(HERE, "..", "golden"))
    import models as ref
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    c = dict(MODELS[name], hidden_act="gelu", max_position_embeddings=512, type_vocab_size=2,
             heads=["mlm"] if mode == "train" else [], _seed=0)
    m = ref.Model(c)
    with torch.no_grad():
        for n, p in m.named_parameters():
            if n.endswith("LayerNorm.weight"):
                p.fill_(1.0)
            elif n.endswith("bias"):
                p.zero_()
            else:
                p.normal_(0, 0.02)
    B = 1 if mode == "infer1" else 32
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, c["vocab_size"], (B, SEQ), generator=g)
    tt = torch.zeros(B, SEQ, dtype=torch.int64)
    mask = torch.ones(B, SEQ, dtype=torch.int64)
    if mode.startswith("infer"):
        m.eval()
        reps = 20 if mode == "infer1" else 3
        with torch.inference_mode(), ac():
            for _ in range(2 if mode == "infer1" else 1):
                m(ids, tt, mask)
            ts = []
            for _ in range(reps):
                t0 = time.perf_counter()
                m(ids, tt, mask)
                ts.append(time.perf_counter() - t0)
        ts.sort()
        ms = ts[len(ts) // 2] * 1e3
        extra = f"tok_per_s={B * SEQ / (ms / 1e3):.0f}"
    else:
        m.train()
        labels = torch.randint(0, c["vocab_size"], (B, SEQ), generator=g)
        opt = torch.optim.AdamW(m.parameters(), lr=1e-4, weight_decay=0.01)
        steps = 3 if name.startswith("tinybert4") else 2
        ts = []
        for i in range(steps + 1):
            t0 = time.perf_counter()
            with ac():
                out = m(ids, tt, mask)
                loss = torch.nn.functional.cross_entropy(out["mlm_logits"].reshape(-1, c["vocab_size"]).float(),
                                                         labels.reshape(-1))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            del out, loss
            if i > 0:
                ts.append(time.perf_counter() - t0)
        ms = sum(ts) / len(ts) * 1e3
        extra = f"tok_per_s={B * SEQ / (ms / 1e3):.0f}"
    print(f"bench model_{mode} impl=pytorch model={name} prec={prec} batch={B} seq={SEQ} threads={threads} "
          f"ms={ms:.1f} {extra} peak_rss_mb={peak_rss_mb():.0f}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--modes", default="infer1,infer32,train")
    ap.add_argument("--precs", default="fp32")
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--one", nargs=3, metavar=("MODEL", "MODE", "PREC"))
    a = ap.parse_args()
    global SEQ
    SEQ = a.seq
    if a.one:
        run_one(a.one[0], a.one[1], a.threads, a.one[2])
        return
    for name in a.models.split(","):
        for mode in a.modes.split(","):
            for prec in a.precs.split(","):
                subprocess.run([sys.executable, os.path.abspath(__file__), "--threads", str(a.threads),
                                "--seq", str(a.seq), "--one", name, mode, prec], check=False)


if __name__ == "__main__":
    main()
