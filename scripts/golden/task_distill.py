"""TinyBERT task-specific distillation references (tests/lua/test_golden_task_distill.lua),
written from the description of TinyBERT/task_distill.py and transformer/optimization.py
(not copied):

  * teacher and student are TinyBertForSequenceClassification: logits =
    classifier(relu(tanh pooler)), no dropout; the student projects every hidden
    state (embeddings included) with fit_dense;
  * stage 1 (intermediate layers): att = sum_i MSE(z(S_att_i), z(T_att_{i*k+k-1})),
    z(x) = 0 where x <= -100; rep = sum_j MSE(fit_dense(S_h_j), T_h_{j*k}); loss = att + rep;
    BertAdam with schedule 'none';
  * stage 2 (prediction layer): soft_cross_entropy(S/T, T/T) = mean over batch x classes of
    -softmax(t/T) * log_softmax(s/T); regression: MSE(student logits, gold labels);
    BertAdam with warmup_linear;
  * BertAdam: per-tensor gradient clipping at 1.0, no bias correction, decay 0.01 added to
    the update except bias/LayerNorm, lr * schedule(step / t_total).

Beyond upstream (retort's --kd_loss / --alpha): kl = T^2 * mean over the batch of
sum_c p_t (log p_t - log p_s); mse = MSE(student logits, teacher logits);
alpha mixes (1 - alpha) * kd + alpha * cross_entropy(student logits, gold).

Writes <out>/teacher, <out>/student, <out>/student_reg (config.json + model.safetensors)
and <out>/ref.safetensors."""
import math
import os

import torch
import torch.nn.functional as F

from common import save_safetensors
from models import Model, write_model

B, S = 4, 8
LENS = [8, 6, 4, 3]

TEACHER = dict(vocab_size=60, hidden_size=32, num_hidden_layers=4, num_attention_heads=4,
               intermediate_size=48, hidden_act="gelu", max_position_embeddings=16, type_vocab_size=2,
               heads=["classifier"], num_labels=3, classifier_activation="relu",
               hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, _seed=31)
STUDENT = dict(vocab_size=60, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
               intermediate_size=24, hidden_act="gelu", max_position_embeddings=16, type_vocab_size=2,
               heads=["classifier"], num_labels=3, fit_size=32, classifier_activation="relu",
               hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, _seed=32)
STUDENT_REG = dict(STUDENT, num_labels=1, problem_type="regression", _seed=33)
NO_DECAY = ["bias", "LayerNorm.bias", "LayerNorm.weight"]


def inputs(seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, 60, (B, S), generator=g)
    mask = torch.zeros(B, S, dtype=torch.int64)
    tt = torch.zeros(B, S, dtype=torch.int64)
    for b, n in enumerate(LENS):
        mask[b, :n] = 1
        ids[b, n:] = 0
        tt[b, n // 2:n] = 1
    return ids, tt, mask


def z(x):
    return torch.where(x <= -100.0, torch.zeros_like(x), x)


def stage1_terms(so, to, k, ns):
    att = [F.mse_loss(z(so["att"][i]), z(to["att"][i * k + k - 1])) for i in range(ns)]
    rep = [F.mse_loss(so["fit"][j], to["hidden"][j * k]) for j in range(ns + 1)]
    return att, rep


def soft_ce(s, t, T):
    return (-F.softmax(t / T, -1) * F.log_softmax(s / T, -1)).mean()


def kl(s, t, T):
    pt = F.softmax(t / T, -1)
    return (pt * (F.log_softmax(t / T, -1) - F.log_softmax(s / T, -1))).sum(-1).mean() * T * T


def bert_sched(name, x, w):
    if name == "none":
        return 1.0
    if name == "warmup_linear":
        return x / w if x < w else max((x - 1.0) / (w - 1.0), 0.0)
    raise ValueError(name)


class BertAdam:
    """transformer/optimization.py BertAdam.step, re-written (lr 5e-5 defaults replaced per case)."""

    def __init__(self, named, lr, schedule, warmup, t_total):
        self.p = dict(named)
        self.m = {n: torch.zeros_like(p) for n, p in self.p.items()}
        self.v = {n: torch.zeros_like(p) for n, p in self.p.items()}
        self.s = {n: 0 for n in self.p}
        self.lr, self.schedule, self.warmup, self.t_total = lr, schedule, warmup, t_total

    def step(self):
        lrs = None
        with torch.no_grad():
            for n, p in self.p.items():
                if p.grad is None:
                    continue
                g = p.grad.clone()
                norm = torch.norm(g, 2)
                g.mul_(torch.clamp(1.0 / (norm + 1e-6), max=1.0))
                self.m[n].mul_(0.9).add_(g, alpha=0.1)
                self.v[n].mul_(0.999).addcmul_(g, g, value=0.001)
                u = self.m[n] / (self.v[n].sqrt() + 1e-6)
                if not any(nd in n for nd in NO_DECAY):
                    u += 0.01 * p
                lr = self.lr * bert_sched(self.schedule, self.s[n] / self.t_total, self.warmup)
                lrs = lr
                p.add_(-(lr * u))
                self.s[n] += 1
        return lrs


def params(prefix, m, d):
    for n, p in m.named_parameters():
        d[prefix + n] = p.detach().clone()


def generate(out):
    torch.manual_seed(0)
    teacher = Model(TEACHER).eval()
    student = Model(STUDENT).eval()
    student_reg = Model(STUDENT_REG).eval()
    write_model(out, "teacher", TEACHER, teacher)
    write_model(out, "student", STUDENT, student)
    write_model(out, "student_reg", STUDENT_REG, student_reg)
    for n in ("teacher", "student", "student_reg"):       # the .bin copy is not needed here
        os.remove(os.path.join(out, n, "pytorch_model.bin"))
    ids, tt, mask = inputs(7)
    g = torch.Generator().manual_seed(8)
    labels = torch.randint(0, 3, (B,), generator=g)
    gold = torch.randn(B, generator=g)
    ref = {"input_ids": ids, "token_type_ids": tt, "attention_mask": mask, "labels": labels, "gold": gold}
    with torch.no_grad():
        to = teacher(ids, tt, mask)
    ref["teacher_logits"] = to["logits"]
    k, ns = 2, 2

    # stage 1: att + rep, then one BertAdam step with schedule 'none'
    so = student(ids, tt, mask)
    att, rep = stage1_terms(so, to, k, ns)
    for i, a in enumerate(att):
        ref[f"s1.att.{i}"] = a.detach().reshape(())
    for j, r in enumerate(rep):
        ref[f"s1.rep.{j}"] = r.detach().reshape(())
    loss1 = sum(att) + sum(rep)
    ref["s1.loss"] = loss1.detach().reshape(())
    opt = BertAdam(student.named_parameters(), lr=1e-2, schedule="none", warmup=-1, t_total=100)
    student.zero_grad(set_to_none=True)
    loss1.backward()
    opt.step()
    params("s1.after.", student, ref)

    # stage 2 from the stage-1 student (gradients set to None between stages: upstream runs
    # each stage in its own process, so fit_dense has no gradient and BertAdam skips it)
    # soft CE at T = 2, two BertAdam warmup_linear steps
    # (t_total 4, warmup 0.1: the first update has lr 0, the second lr * (1 - 0.25) / 0.9)
    T = 2.0
    ref["temperature"] = torch.tensor(T)
    opt2 = BertAdam(student.named_parameters(), lr=1e-2, schedule="warmup_linear", warmup=0.1, t_total=4)
    lrs = []
    for step in range(2):
        so = student(ids, tt, mask)
        pred = soft_ce(so["logits"], to["logits"], T)
        ref[f"s2.pred.{step}"] = pred.detach().reshape(())
        if step == 0:
            s = so["logits"].detach()
            ref["s2.kl"] = kl(s, to["logits"], T).reshape(())
            ref["s2.soft_ce_T1"] = soft_ce(s, to["logits"], 1.0).reshape(())
            ref["s2.mse"] = F.mse_loss(s, to["logits"]).reshape(())
            ref["s2.ce"] = F.cross_entropy(s, labels).reshape(())
            ref["s2.alpha_0.3"] = (0.7 * soft_ce(s, to["logits"], T) + 0.3 * F.cross_entropy(s, labels)).reshape(())
        student.zero_grad(set_to_none=True)
        pred.backward()
        lrs.append(opt2.step())
    ref["s2.lrs"] = torch.tensor(lrs)
    params("s2.after.", student, ref)

    # stage 2, regression (STS-B): MSE of the student logits against the gold labels
    opt3 = BertAdam(student_reg.named_parameters(), lr=1e-2, schedule="warmup_linear", warmup=0.1, t_total=4)
    for step in range(2):
        so = student_reg(ids, tt, mask)
        mse = F.mse_loss(so["logits"].reshape(-1), gold)
        ref[f"reg.mse.{step}"] = mse.detach().reshape(())
        student_reg.zero_grad(set_to_none=True)
        mse.backward()
        opt3.step()
    params("reg.after.", student_reg, ref)
    save_safetensors(os.path.join(out, "ref.safetensors"), ref)
