"""bench task_distill_step, PyTorch peer written like TinyBERT/task_distill.py: a BERT-base
teacher forward under torch.no_grad(), a TinyBERT-4L-312 student (fit_dense to 768)
forward + backward, the stage-1 loss (attention MSE with the <= -100 masking, hidden MSE
through fit_dense) or the stage-2 soft cross-entropy, and a BertAdam step (per-tensor
clipping, no bias correction). Median of --steps timed steps after one warm-up.

  python3 scripts/bench/task_distill.py --threads 2 [--steps 3] [--batch 32] [--seq 128]"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden"))
from models import Model  # noqa: E402  (the reference BERT/TinyBERT of scripts/golden)
from task_distill import BertAdam, soft_ce, z  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    for k, v in dict(threads=2, steps=3, batch=32, seq=128, teacher_layers=12, teacher_hidden=768, teacher_heads=12,
                     student_layers=4, student_hidden=312, student_ffn=1200, vocab=30522).items():
        ap.add_argument("--" + k, type=int, default=v)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    tc = dict(vocab_size=a.vocab, hidden_size=a.teacher_hidden, num_hidden_layers=a.teacher_layers,
              num_attention_heads=a.teacher_heads, intermediate_size=4 * a.teacher_hidden, hidden_act="gelu",
              max_position_embeddings=512, type_vocab_size=2, heads=["classifier"], num_labels=2,
              classifier_activation="relu", _seed=1)
    sc = dict(tc, hidden_size=a.student_hidden, num_hidden_layers=a.student_layers, intermediate_size=a.student_ffn,
              fit_size=a.teacher_hidden, _seed=2)
    teacher, student = Model(tc).eval(), Model(sc).train()
    B, S = a.batch, a.seq
    ids = torch.randint(0, a.vocab, (B, S))
    tt = torch.zeros(B, S, dtype=torch.int64)
    mask = torch.ones(B, S, dtype=torch.int64)
    k = a.teacher_layers // a.student_layers
    for stage in (1, 2):
        opt = BertAdam(student.named_parameters(), lr=5e-5, schedule="none" if stage == 1 else "warmup_linear",
                       warmup=0.1, t_total=1000)
        times = []
        for i in range(a.steps + 1):
            t0 = time.perf_counter()
            so = student(ids, tt, mask)
            with torch.no_grad():
                to = teacher(ids, tt, mask)
            if stage == 1:
                loss = sum(F.mse_loss(z(so["att"][j]), z(to["att"][j * k + k - 1])) for j in range(a.student_layers))
                loss = loss + sum(F.mse_loss(so["fit"][j], to["hidden"][j * k]) for j in range(a.student_layers + 1))
            else:
                loss = soft_ce(so["logits"], to["logits"], 1.0)
            loss.backward()
            opt.step()
            student.zero_grad(set_to_none=True)
            if i > 0:
                times.append(time.perf_counter() - t0)
        times.sort()
        ms = times[(len(times) - 1) // 2] * 1000
        print(f"bench task_distill_step impl=pytorch stage={stage} teacher={a.teacher_layers}Lx{a.teacher_hidden} "
              f"student={a.student_layers}Lx{a.student_hidden} batch={B} seq={S} threads={a.threads} ms={ms:.1f} "
              f"ex_per_s={B / (ms / 1000):.2f}")


if __name__ == "__main__":
    main()
