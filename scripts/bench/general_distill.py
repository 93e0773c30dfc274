#!/usr/bin/python3
"""PyTorch peer of scripts/bench/general_distill.lua: one TinyBERT general-distillation
step written like TinyBERT/general_distill.py -- BERT-base teacher (reference model of
scripts/golden/models.py) under torch.no_grad with detached outputs, TinyBERT-4L student
with fit_dense to 768, att loss = MSE of the masked scores with x <= -1e2 zeroed, rep loss
= MSE of fit_dense(student states) vs teacher states, uniform 12 -> 4 map, BertAdam
(per-tensor clipping, no bias correction) with the upstream weight-decay groups.
Batch 32, seq 128. Peak memory: VmHWM from /proc/self/status (peak RSS of the process).
  /usr/bin/python3 scripts/bench/general_distill.py --threads 2 [--steps 3] [--small]
"""
import argparse
import math
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
import models as ref  # noqa: E402


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return -1.0


class BertAdam(torch.optim.Optimizer):
    """TinyBERT/transformer/optimization.py's BertAdam semantics (warmup_linear)."""

    def __init__(self, params, lr, warmup=0.1, t_total=1000, b1=0.9, b2=0.999, e=1e-6, weight_decay=0.01,
                 max_grad_norm=1.0):
        super().__init__(params, dict(lr=lr, warmup=warmup, t_total=t_total, b1=b1, b2=b2, e=e,
                                      weight_decay=weight_decay, max_grad_norm=max_grad_norm))

    @torch.no_grad()
    def step(self):
        for g in self.param_groups:
            for p in g["params"]:
                if p.grad is None:
                    continue
                st = self.state[p]
                if not st:
                    st["step"] = 0
                    st["m"] = torch.zeros_like(p)
                    st["v"] = torch.zeros_like(p)
                grad = p.grad
                if g["max_grad_norm"] > 0:
                    torch.nn.utils.clip_grad_norm_(p, g["max_grad_norm"])
                st["m"].mul_(g["b1"]).add_(grad, alpha=1 - g["b1"])
                st["v"].mul_(g["b2"]).addcmul_(grad, grad, value=1 - g["b2"])
                update = st["m"] / (st["v"].sqrt() + g["e"])
                if g["weight_decay"] > 0:
                    update += g["weight_decay"] * p
                x = st["step"] / g["t_total"]
                w = g["warmup"]
                sched = x / w if x < w else max((x - 1.0) / (w - 1.0), 0)
                p.add_(update, alpha=-g["lr"] * sched)
                st["step"] += 1


def init(m):
    with torch.no_grad():
        for n, p in m.named_parameters():
            if n.endswith("LayerNorm.weight"):
                p.fill_(1.0)
            elif n.endswith("bias"):
                p.zero_()
            else:
                p.normal_(0, 0.02)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--small", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    V = 1000 if a.small else 30522
    common = dict(vocab_size=V, hidden_act="gelu", max_position_embeddings=512, type_vocab_size=2, _seed=0)
    tc = dict(common, hidden_size=64 if a.small else 768, num_hidden_layers=4 if a.small else 12,
              num_attention_heads=4 if a.small else 12, intermediate_size=128 if a.small else 3072)
    sc = dict(common, hidden_size=32 if a.small else 312, num_hidden_layers=2 if a.small else 4,
              num_attention_heads=4 if a.small else 12, intermediate_size=64 if a.small else 1200,
              fit_size=tc["hidden_size"])
    teacher, student = ref.Model(tc), ref.Model(sc)
    init(teacher), init(student)
    teacher.eval()
    student.train()
    no_decay = ["bias", "LayerNorm.bias", "LayerNorm.weight"]
    params = list(student.named_parameters())
    groups = [{"params": [p for n, p in params if not any(nd in n for nd in no_decay)], "weight_decay": 0.01},
              {"params": [p for n, p in params if any(nd in n for nd in no_decay)], "weight_decay": 0.0}]
    opt = BertAdam(groups, lr=5e-5, warmup=0.1, t_total=1000)
    B, S = a.batch, a.seq
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, V, (B, S), generator=g)
    tt = torch.zeros(B, S, dtype=torch.int64)
    mask = torch.ones(B, S, dtype=torch.int64)
    mse = torch.nn.MSELoss()

    def step():
        so = student(ids, tt, mask)
        with torch.no_grad():
            to = teacher(ids, tt, mask)
        t_reps = [t.detach() for t in to["hidden"]]
        t_atts = [t.detach() for t in to["att"]]
        k = len(t_atts) // len(so["att"])
        att_loss, rep_loss = 0.0, 0.0
        for i, s_att in enumerate(so["att"]):
            t_att = t_atts[i * k + k - 1]
            s_att = torch.where(s_att <= -1e2, torch.zeros_like(s_att), s_att)
            t_att = torch.where(t_att <= -1e2, torch.zeros_like(t_att), t_att)
            att_loss = att_loss + mse(s_att, t_att)
        for j, s_rep in enumerate(so["fit"]):
            rep_loss = rep_loss + mse(s_rep, t_reps[j * k])
        loss = att_loss + rep_loss
        loss.backward()
        opt.step()
        opt.zero_grad()
        return loss.item()

    step()
    ts = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t0)
    ts.sort()
    ms = ts[(len(ts) - 1) // 2] * 1e3
    print(f"bench general_distill_step impl=pytorch teacher={'bert-small' if a.small else 'bert-base'} "
          f"student={'tiny2' if a.small else 'tinybert4'} batch={B} seq={S} threads={a.threads} steps={a.steps} "
          f"ms={ms:.1f} tok_per_s={B * S / (ms / 1e3):.0f} peak_rss_mb={peak_rss_mb():.0f} rss_method=VmHWM", flush=True)


if __name__ == "__main__":
    main()
