#!/usr/bin/python3
"""PyTorch peer of scripts/bench/ner.lua: the same NER step (NEZHA-base token
classifier, batch 16 x seq 128, summed token cross-entropy) and CMRC step (span
head, batch 4 x seq 512, masked start/end logits, mean of the two CEs), each with
backward and an optimizer step (torch.optim.AdamW, the closest built-in to TF's
AdamWeightDecay), the model being the reference in scripts/golden/models.py.

  /usr/bin/python3 scripts/bench/ner.py --threads 2 [--tasks ner,cmrc] [--layers 12 --hidden 768 --steps 2]
prints  bench <task>_step impl=pytorch ... ms=... peak_rss_mb=...
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return -1.0


def run_one(task, a):
    import torch
    import torch.nn.functional as F
    sys.path.insert(0, os.path.join(HERE, "..", "golden"))
    import models as ref
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    H, L = a.hidden, a.layers
    c = dict(vocab_size=21128, hidden_size=H, num_hidden_layers=L, num_attention_heads=max(1, H // 64),
             intermediate_size=4 * H, use_relative_position=True, max_relative_position=64, hidden_act="gelu",
             max_position_embeddings=512, type_vocab_size=2, num_labels=11,
             heads=["token_classifier" if task == "ner" else "qa"], _seed=0)
    m = ref.Model(c)
    m.train()
    B = a.batch or (16 if task == "ner" else 4)
    S = a.seq or (128 if task == "ner" else 512)
    g = torch.Generator().manual_seed(1)
    ids = torch.randint(1, c["vocab_size"], (B, S), generator=g)
    tt = torch.zeros(B, S, dtype=torch.int64)
    mask = torch.ones(B, S, dtype=torch.int64)
    labels = torch.randint(0, 11, (B, S), generator=g)
    sp, ep = torch.randint(0, S, (B,), generator=g), torch.randint(0, S, (B,), generator=g)
    span = torch.ones(B, S)
    opt = torch.optim.AdamW(m.parameters(), lr=3e-5, weight_decay=0.01)
    ts = []
    for i in range(a.steps + 1):
        t0 = time.perf_counter()
        out = m(ids, tt, mask)
        if task == "ner":
            loss = F.cross_entropy(out["logits"].reshape(-1, 11), labels.reshape(-1), reduction="sum")
        else:
            pen = (1 - span) * -10000.0
            loss = (F.cross_entropy(out["start_logits"] + pen, sp) + F.cross_entropy(out["end_logits"] + pen, ep)) / 2
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        del out, loss
        if i > 0:
            ts.append(time.perf_counter() - t0)
    ms = sum(ts) / len(ts) * 1e3
    print(f"bench {task}_step impl=pytorch model=nezha-L{L}-H{H} batch={B} seq={S} threads={a.threads} "
          f"ms={ms:.1f} tok_per_s={B * S / (ms / 1e3):.0f} peak_rss_mb={peak_rss_mb():.0f}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tasks", default="ner")
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--steps", type=int, default=2)
    ap.add_argument("--seq", type=int, default=None)
    ap.add_argument("--batch", type=int, default=None)
    ap.add_argument("--one", default=None)
    a = ap.parse_args()
    if a.one:
        run_one(a.one, a)
        return
    extra = ["--layers", str(a.layers), "--hidden", str(a.hidden), "--steps", str(a.steps)]
    if a.seq:
        extra += ["--seq", str(a.seq)]
    if a.batch:
        extra += ["--batch", str(a.batch)]
    for task in a.tasks.split(","):
        subprocess.run([sys.executable, os.path.abspath(__file__), "--threads", str(a.threads), "--one", task] + extra,
                       check=False)


if __name__ == "__main__":
    main()
