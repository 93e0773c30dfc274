"""Optimizer and schedule references (tests/lua/test_golden_optim.lua).

Each case runs N steps on a small BERT-like parameter set (weights, biases,
LayerNorm weights, so both decay and no-decay groups are exercised) with fixed
random gradients, and writes <case>.safetensors with init.<name>, grad.<k>.<name>,
final.<name>, m.<name>, v.<name>, plus cases.json with the options and the
learning rate used at every step.

adamw uses torch.optim.AdamW (+ LambdaLR for schedules, clip_grad_norm_);
bertadam, adam_weight_decay and lamb are written here from the upstream formulas
(BERT optimization.py, NEZHA LAMB, TinyBERT BertAdam) in float32 torch arithmetic."""
import json
import math
import os

import torch

from common import save_safetensors

SHAPES = {
    "bert.embeddings.word_embeddings.weight": (11, 6),
    "bert.embeddings.LayerNorm.weight": (6,),
    "bert.embeddings.LayerNorm.bias": (6,),
    "bert.encoder.layer.0.attention.self.query.weight": (6, 6),
    "bert.encoder.layer.0.attention.self.query.bias": (6,),
    "classifier.weight": (3, 6),
    "classifier.bias": (3,),
}
NO_DECAY = ["bias", "LayerNorm.bias", "LayerNorm.weight"]


def no_decay(n):
    return any(nd in n for nd in NO_DECAY)


# schedules: multiplier at 0-based step s, T total, W warmup steps
def sched(name, s, T, W):
    if name in ("constant", "none"):
        return 1.0
    if name == "warmup_constant":
        return s / W if s < W else 1.0
    if name == "warmup_linear":
        return s / W if s < W else max((T - s) / (T - W), 0.0)
    if name == "warmup_cosine":
        if s < W:
            return s / W
        p = (s - W) / (T - W)
        return max(0.0, 0.5 * (1.0 + math.cos(math.pi * 2.0 * 0.5 * p)))
    if name == "polynomial":
        if W > 0 and s < W:
            return s / W
        adj = 1.0 / (1.0 - W / T) if W > 0 else 1.0
        return adj * (1.0 - min(s, T) / T)
    raise ValueError(name)


# TinyBERT BertAdam schedules, as functions of x = step / t_total, w = warmup fraction
def bert_sched(name, x, w):
    if name == "none":
        return 1.0
    if name == "warmup_constant":
        return x / w if x < w else 1.0
    if name == "warmup_linear":
        return x / w if x < w else max((x - 1.0) / (w - 1.0), 0.0)
    if name == "warmup_cosine":
        if x < w:
            return x / w
        p = (x - w) / (1 - w)
        return 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2 * p))
    raise ValueError(name)


def make_params(seed):
    g = torch.Generator().manual_seed(seed)
    return {n: torch.randn(*s, generator=g) * 0.5 for n, s in SHAPES.items()}


def make_grads(seed, steps, big):
    g = torch.Generator().manual_seed(seed + 1000)
    out = []
    for k in range(steps):
        scale = 1.0 if (big and k % 2 == 0) else 0.05
        out.append({n: torch.randn(*s, generator=g) * scale for n, s in SHAPES.items()})
    # one zero gradient (LAMB's |g| = 0 branch)
    out[-1]["classifier.bias"] = torch.zeros(SHAPES["classifier.bias"])
    return out


def run_adamw(params, grads, o):
    ps = {n: torch.nn.Parameter(t.clone()) for n, t in params.items()}
    groups = [{"params": [p for n, p in ps.items() if not no_decay(n)], "weight_decay": o["weight_decay"]},
              {"params": [p for n, p in ps.items() if no_decay(n)], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"])
    T = o.get("total_steps", -1)
    W = o.get("warmup_steps", 0)
    sch = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: sched(o["schedule"], s, T, W))
    lrs = []
    for gr in grads:
        for n, p in ps.items():
            p.grad = gr[n].clone()
        if o.get("max_grad_norm"):
            torch.nn.utils.clip_grad_norm_(list(ps.values()), o["max_grad_norm"])
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sch.step()
    st = {n: opt.state[p] for n, p in ps.items()}
    return ({n: p.detach() for n, p in ps.items()}, {n: s["exp_avg"] for n, s in st.items()},
            {n: s["exp_avg_sq"] for n, s in st.items()}, lrs)


def run_bertadam(params, grads, o):
    """TinyBERT transformer/optimization.py BertAdam.step, re-written."""
    ps = {n: t.clone() for n, t in params.items()}
    m = {n: torch.zeros_like(t) for n, t in ps.items()}
    v = {n: torch.zeros_like(t) for n, t in ps.items()}
    step = {n: 0 for n in ps}
    b1, b2 = o["betas"]
    lrs = []
    for gr in grads:
        for n, p in ps.items():
            g = gr[n].clone()
            if o["max_grad_norm"] > 0:
                norm = torch.norm(g, 2)
                coef = o["max_grad_norm"] / (norm + 1e-6)
                g.mul_(torch.clamp(coef, max=1.0))
            m[n].mul_(b1).add_(g, alpha=1 - b1)
            v[n].mul_(b2).addcmul_(g, g, value=1 - b2)
            update = m[n] / (v[n].sqrt() + o["eps"])
            wd = 0.0 if no_decay(n) else o["weight_decay"]
            if wd > 0.0:
                update += wd * p
            if o["total_steps"] != -1:
                lr = o["lr"] * bert_sched(o["schedule"], step[n] / o["total_steps"], max(o["warmup"], 0.0))
            else:
                lr = o["lr"]
            if n == "classifier.weight":
                lrs.append(lr)
            p.add_(-(lr * update))
            step[n] += 1
    return ps, m, v, lrs


def tf_global_clip(gr, clip):
    norm = torch.sqrt(sum(torch.sum(g * g) for g in gr.values()))
    scale = clip / torch.maximum(norm, torch.tensor(clip))
    return {n: g * scale for n, g in gr.items()}


def run_adam_wd(params, grads, o):
    """TF optimization.py AdamWeightDecayOptimizer with create_optimizer's clipping/schedule."""
    ps = {n: t.clone() for n, t in params.items()}
    m = {n: torch.zeros_like(t) for n, t in ps.items()}
    v = {n: torch.zeros_like(t) for n, t in ps.items()}
    b1, b2 = o["betas"]
    lrs = []
    for t, gr in enumerate(grads):
        gr = tf_global_clip(gr, o["max_grad_norm"])
        lr = o["lr"] * sched(o["schedule"], t, o["total_steps"], o["warmup_steps"])
        lrs.append(lr)
        for n, p in ps.items():
            g = gr[n]
            m[n] = b1 * m[n] + (1.0 - b1) * g
            v[n] = b2 * v[n] + (1.0 - b2) * (g * g)
            update = m[n] / (torch.sqrt(v[n]) + o["eps"])
            if not no_decay(n):
                update += o["weight_decay"] * p
            ps[n] = p - lr * update
    return ps, m, v, lrs


def run_lamb(params, grads, o):
    """NEZHA TF LAMBOptimizer."""
    ps = {n: t.clone() for n, t in params.items()}
    m = {n: torch.zeros_like(t) for n, t in ps.items()}
    v = {n: torch.zeros_like(t) for n, t in ps.items()}
    b1, b2 = o["betas"]
    eps, wd = o["eps"], o["weight_decay"]
    lrs = []
    for gstep, gr in enumerate(grads):
        gr = tf_global_clip(gr, o["max_grad_norm"])
        lr = o["lr"] * sched(o["schedule"], gstep, o["total_steps"], o["warmup_steps"])
        lrs.append(lr)
        t = gstep + 1
        for n, p in ps.items():
            g = gr[n]
            m[n] = b1 * m[n] + (1.0 - b1) * g
            v[n] = b2 * v[n] + (1.0 - b2) * (g * g)
            mh = m[n] / (1.0 - b1 ** t)
            vh = v[n] / (1.0 - b2 ** t)
            r = mh / torch.sqrt(vh + eps) + wd * p
            w_norm, r_norm, g_norm = torch.norm(p), torch.norm(r), torch.norm(g)
            if w_norm > 0 and g_norm > 0:
                ratio = torch.clamp(w_norm / r_norm, 0.0, 10.0)
            else:
                ratio = torch.tensor(1.0)
            u = mh / (torch.sqrt(vh) + eps)
            if not no_decay(n):
                u = u + wd * p
            ps[n] = p - ratio * lr * u
    return ps, m, v, lrs


BASE = {"lr": 1e-2, "betas": [0.9, 0.999], "weight_decay": 0.01}
CASES = {
    "adamw_constant": ("adamw", dict(BASE, eps=1e-8, schedule="constant"), 3, False),
    "adamw_warmup_linear_clip": ("adamw", dict(BASE, eps=1e-8, schedule="warmup_linear", warmup_steps=1,
                                               total_steps=5, max_grad_norm=1.0), 4, True),
    "adamw_warmup_cosine": ("adamw", dict(BASE, eps=1e-8, weight_decay=0.1, schedule="warmup_cosine",
                                          warmup_steps=2, total_steps=6), 5, False),
    "adamw_warmup_constant": ("adamw", dict(BASE, eps=1e-6, schedule="warmup_constant", warmup_steps=2,
                                            total_steps=6), 4, False),
    "bertadam_warmup_linear": ("bertadam", dict(BASE, eps=1e-6, schedule="warmup_linear", warmup=0.25,
                                                total_steps=8, max_grad_norm=1.0), 4, True),
    "bertadam_none": ("bertadam", dict(BASE, eps=1e-6, schedule="none", warmup=-1, total_steps=-1,
                                       max_grad_norm=1.0), 3, True),
    "bertadam_warmup_cosine": ("bertadam", dict(BASE, eps=1e-6, schedule="warmup_cosine", warmup=0.2,
                                                total_steps=5, max_grad_norm=1.0), 4, False),
    "bertadam_warmup_constant": ("bertadam", dict(BASE, eps=1e-6, schedule="warmup_constant", warmup=0.5,
                                                  total_steps=4, max_grad_norm=1.0), 4, True),
    "adam_weight_decay_poly": ("adam_weight_decay", dict(BASE, eps=1e-6, schedule="polynomial", warmup_steps=1,
                                                         total_steps=6, max_grad_norm=1.0), 4, True),
    "lamb_poly": ("lamb", dict(BASE, eps=1e-6, schedule="polynomial", warmup_steps=1, total_steps=6,
                               max_grad_norm=1.0), 4, True),
    "lamb_nowarmup": ("lamb", dict(BASE, lr=5e-2, eps=1e-6, schedule="polynomial", warmup_steps=0,
                                   total_steps=10, max_grad_norm=1.0), 3, False),
}
RUN = {"adamw": run_adamw, "bertadam": run_bertadam, "adam_weight_decay": run_adam_wd, "lamb": run_lamb}


def generate(out_dir):
    meta = {}
    for i, (case, (algo, o, steps, big)) in enumerate(sorted(CASES.items())):
        params = make_params(i)
        grads = make_grads(i, steps, big)
        final, m, v, lrs = RUN[algo](params, grads, o)
        t = {}
        for n in SHAPES:
            t["init." + n] = params[n]
            t["final." + n] = final[n]
            t["m." + n] = m[n]
            t["v." + n] = v[n]
            for k, gr in enumerate(grads):
                t["grad.%d.%s" % (k + 1, n)] = gr[n]
        save_safetensors(os.path.join(out_dir, case + ".safetensors"), t)
        meta[case] = {"algo": algo, "opts": o, "steps": steps, "lrs": lrs}
    with open(os.path.join(out_dir, "cases.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
