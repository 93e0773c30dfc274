#!/usr/bin/python3
"""PyTorch peer of scripts/bench/ops.lua: the same `bench ...` lines (impl=torch).
Run tuned (scripts/bench/run.sh sets the environment):
  /usr/bin/python3 scripts/bench/ops.py --threads 2 [--quick]"""
import argparse
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--quick", action="store_true")
a = ap.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)


def best(reps, fn):
    fn()
    b = math.inf
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        b = min(b, time.perf_counter() - t0)
    return b


def line(name, kv):
    parts = ["bench", name, "impl=torch", f"threads={a.threads}"]
    for k, v in kv:
        parts.append(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}")
    print(" ".join(parts), flush=True)


M = 4096
pairs_nk = [(768, 768), (3072, 768), (768, 3072), (312, 312), (1200, 312), (312, 1200)]
if a.quick:
    pairs_nk = pairs_nk[:1]
for N, K in pairs_nk:
    for op in ("NT", "NN", "TN"):
        ta, tb = op[0] == "T", op[1] == "T"
        A = torch.randn(K, M).t() if ta else torch.randn(M, K)
        B = torch.randn(N, K).t() if tb else torch.randn(K, N)
        flop = 2.0 * M * N * K
        reps = 3 if flop > 1e10 else 6
        with torch.no_grad():
            t = best(reps, lambda: torch.matmul(A, B))
        line("op_matmul", [("op", op), ("M", M), ("N", N), ("K", K), ("gflops", flop / t / 1e9)])


def fwd_bwd(name, kv, make, op, reps):
    x = make()
    with torch.no_grad():
        tf = best(reps, lambda: op(x))
    g = torch.randn(op(x).shape)

    def step():
        for v in x:
            v.grad = None
        op(x).backward(g)
    tb = best(reps, step)
    line(name, kv + [("fwd_ms", tf * 1e3), ("fwdbwd_ms", tb * 1e3)])


R = 32 * 128
fwd_bwd("op_layer_norm", [("rows", R), ("n", 768)],
        lambda: [torch.randn(R, 768, requires_grad=True), torch.randn(768, requires_grad=True),
                 torch.randn(768, requires_grad=True)],
        lambda x: F.layer_norm(x[0], (768,), x[1], x[2], 1e-12), 10)
fwd_bwd("op_softmax", [("shape", "32x12x128x128")],
        lambda: [torch.randn(32, 12, 128, 128, requires_grad=True)],
        lambda x: torch.softmax(x[0], -1), 5)
fwd_bwd("op_gelu", [("rows", R), ("n", 3072)],
        lambda: [torch.randn(R, 3072, requires_grad=True)], lambda x: F.gelu(x[0]), 5)
fwd_bwd("op_dropout", [("rows", R), ("n", 768), ("p", 0.1)],
        lambda: [torch.randn(R, 768, requires_grad=True)], lambda x: F.dropout(x[0], 0.1, True), 10)

B, S, H, D = 32, 128, 12, 64


def rel_table(n, d, K):
    r = np.arange(n)
    idx = np.clip(r[None, :] - r[:, None], -K, K) + K
    tab = np.zeros((2 * K + 1, d))
    pos = np.arange(2 * K + 1)[:, None]
    div = np.power(10000.0, np.arange(0, d, 2) / d)
    tab[:, 0::2] = np.sin(pos / div)
    tab[:, 1::2] = np.cos(pos / div)
    return torch.tensor(tab[idx]).float()


rel = rel_table(S, D, 64)
mask = torch.zeros(B, 1, 1, S)


def nezha_attention(q, k, v, use_rel):
    """PT NEZHA NeZhaSelfAttention core (PT/modeling_nezha.py formulas)."""
    q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)   # [B,H,S,D]
    s = torch.matmul(q, k.transpose(-1, -2))
    if use_rel:
        qt = q.permute(2, 0, 1, 3).reshape(S, B * H, D)
        s = s + torch.matmul(qt, rel.permute(0, 2, 1)).reshape(S, B, H, S).permute(1, 2, 0, 3)
    s = s / math.sqrt(D) + mask
    p = F.dropout(torch.softmax(s, -1), 0.1, True)
    c = torch.matmul(p, v)
    if use_rel:
        pt = p.permute(2, 0, 1, 3).reshape(S, B * H, S)
        c = c + torch.matmul(pt, rel).reshape(S, B, H, D).permute(1, 2, 0, 3)
    return c


for use_rel in (False, True):
    fwd_bwd("op_attention", [("B", B), ("S", S), ("H", H), ("D", D), ("rel", int(use_rel))],
            lambda: [torch.randn(B, S, H, D, requires_grad=True) for _ in range(3)],
            lambda x, use_rel=use_rel: nezha_attention(x[0], x[1], x[2], use_rel), 3)

for C in (9, 21128):
    labels = torch.tensor([(i * 7919) % C for i in range(1, R + 1)])
    fwd_bwd("op_cross_entropy", [("rows", R), ("classes", C)],
            lambda C=C: [torch.randn(R, C, requires_grad=True)],
            lambda x, labels=labels: F.cross_entropy(x[0], labels), 3 if C > 100 else 10)
