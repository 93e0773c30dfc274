#!/usr/bin/python3
"""PyTorch peer of scripts/bench/pretrain.lua: one NEZHA pretraining step — NEZHA-base
(the reference model of scripts/golden/models.py), batch 32 x seq 128, 20 predictions
gathered before the MLM head (as run_pretraining.py does), upstream's weighted MLM mean
(+1e-5) + NSP mean, backward, TF global-norm clipping at 1.0 and NEZHA's LAMB (an in-place
torch version of scripts/golden/optim.py's run_lamb).

  /usr/bin/python3 scripts/bench/pretrain.py --threads 2 [--size base|small] [--steps 2]
prints  bench pretrain_step impl=pytorch model=nezha-base batch=32 seq=128 max_pred=20 ms= tok_per_s= peak_rss_mb=
"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
import models as ref  # noqa: E402

SIZES = {
    "base": dict(vocab_size=21128, hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072),
    "small": dict(vocab_size=2000, hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128),
}
NO_DECAY = ("bias", "LayerNorm.bias", "LayerNorm.weight")


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return -1


class Lamb:
    def __init__(self, named, lr, b1=0.9, b2=0.999, eps=1e-6, wd=0.01):
        self.p = list(named)
        self.lr, self.b1, self.b2, self.eps, self.wd, self.t = lr, b1, b2, eps, wd, 0
        self.m = [torch.zeros_like(p) for _, p in self.p]
        self.v = [torch.zeros_like(p) for _, p in self.p]

    @torch.no_grad()
    def step(self):
        grads = [p.grad for _, p in self.p]
        norm = torch.sqrt(sum(torch.sum(g * g) for g in grads))
        scale = 1.0 / max(norm.item(), 1.0)
        self.t += 1
        c1, c2 = 1 - self.b1 ** self.t, 1 - self.b2 ** self.t
        for (n, p), m, v, g in zip(self.p, self.m, self.v, grads):
            g = g * scale
            m.mul_(self.b1).add_(g, alpha=1 - self.b1)
            v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
            mh, vh = m / c1, v / c2
            r = mh / torch.sqrt(vh + self.eps) + self.wd * p
            wn, rn, gn = p.norm(), r.norm(), g.norm()
            ratio = torch.clamp(wn / rn, 0, 10).item() if wn > 0 and gn > 0 else 1.0
            u = mh / (torch.sqrt(vh) + self.eps)
            if not any(k in n for k in NO_DECAY):
                u = u + self.wd * p
            p.sub_(ratio * self.lr * u)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", default="base")
    ap.add_argument("--steps", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    c = dict(SIZES[a.size], hidden_act="gelu", use_relative_position=True, max_relative_position=64,
             max_position_embeddings=512, type_vocab_size=2, heads=["mlm", "nsp"], _seed=0)
    m = ref.Model(c).train()
    B, S, NP, V = 32, 128, 20, c["vocab_size"]
    s = [1]

    def r(n):
        s[0] = (s[0] * 1103515245 + 12345) % 2147483648
        return s[0] % n
    ids = torch.tensor([[1 + r(V - 1) for _ in range(S)] for _ in range(B)])
    seg = torch.tensor([[1 if j + 1 > S // 2 else 0 for j in range(S)] for _ in range(B)])
    mask = torch.ones(B, S, dtype=torch.int64)
    pos = torch.tensor([[((k + 1) * 6 + b + 1) % S for k in range(NP)] for b in range(B)])
    lab = torch.tensor([[r(V) for _ in range(NP)] for _ in range(B)])
    w = torch.ones(B, NP)
    nsp = torch.tensor([(b + 1) % 2 for b in range(B)])
    opt = Lamb(m.named_parameters(), 1e-4)
    p = m.cls.predictions

    def step():
        hs, _, pooled = m.bert(ids, seg, mask)
        seq = torch.gather(hs[-1], 1, pos.unsqueeze(-1).expand(B, NP, c["hidden_size"]))
        t = p.transform.LayerNorm(m.act(p.transform.dense(seq)))
        logits = t @ m.bert.embeddings.word_embeddings.weight.t() + p.bias
        per = F.cross_entropy(logits.reshape(-1, V), lab.reshape(-1), reduction="none")
        mlm = (per * w.reshape(-1)).sum() / (w.sum() + 1e-5)
        loss = mlm + F.cross_entropy(m.cls.seq_relationship(pooled), nsp)
        for _, q in m.named_parameters():
            q.grad = None
        loss.backward()
        opt.step()
    ts = []
    for k in range(a.steps + 1):
        t0 = time.perf_counter()
        step()
        if k > 0:
            ts.append(time.perf_counter() - t0)
    ms = sum(ts) / len(ts) * 1e3
    print(f"bench pretrain_step impl=pytorch model=nezha-{a.size} batch={B} seq={S} max_pred={NP} threads={a.threads} "
          f"ms={ms:.1f} tok_per_s={B * S / (ms / 1e3):.0f} peak_rss_mb={peak_rss_mb():.0f}", flush=True)


if __name__ == "__main__":
    main()
