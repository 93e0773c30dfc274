"""PyTorch references for the core ops (tests/lua/test_golden_ops_basic.lua).

One safetensors file per case under tests/golden/ops_basic/: inputs (in.*),
the upstream gradient (gout), the output (out; extra outputs out.<k>) and
input gradients (grad.*). Inputs are float32; references are computed in
float64 from them (float32 for the bf16 rounding case) and stored as float32.
Integer outputs (indices) are stored as int64, masks as float32 0/1."""
import os

import torch
import torch.nn.functional as F

from common import save_safetensors

G = None


def rn(*shape, scale=1.0):
    return (torch.randn(tuple(shape), generator=G) * scale).float()


def pos(*shape):
    return (torch.rand(tuple(shape), generator=G) + 0.5).float()


def away(*shape):
    """normal values moved away from 0 (kinks of abs/relu/sign) by >= 0.1"""
    x = rn(*shape)
    return x + x.sign() * 0.1


def run(out_dir, name, inputs, fn, f32=False, extra=None):
    xs = {}
    for k, v in inputs.items():
        if v.dtype.is_floating_point:
            xs[k] = (v if f32 else v.double()).clone().requires_grad_(True)
        else:
            xs[k] = v
    out = fn(**xs)
    t = {f"in.{k}": v for k, v in inputs.items()}
    if extra:
        out, more = out
        for k, v in more.items():
            t[f"out.{k}"] = v if not v.dtype.is_floating_point else v.detach().float()
    if out.dtype == torch.bool:
        t["out"] = out.float()
    elif not out.dtype.is_floating_point:
        t["out"] = out
    else:
        t["out"] = out.detach().float()
        g = rn(*out.shape)
        t["gout"] = g
        diff = [k for k, v in xs.items() if v.dtype.is_floating_point]
        grads = torch.autograd.grad((out * g.to(out.dtype)).sum(), [xs[k] for k in diff], allow_unused=True)
        for k, gr in zip(diff, grads):
            t[f"grad.{k}"] = gr.float() if gr is not None else torch.zeros_like(inputs[k])
    path = os.path.join(out_dir, name + ".safetensors")
    save_safetensors(path, t, {"op": name})
    # A header length of 0x280..0x5ff starts the file with bytes 80 0X, which the
    # weight-format sniffer (src/io/weights.c) takes for a legacy pickle; pad the
    # metadata until the file cannot be mistaken (reported to the io owner).
    pad = 0
    while True:
        with open(path, "rb") as f:
            head = f.read(2)
        if not (head[0] == 0x80 and head[1] <= 5):
            break
        pad += 8
        save_safetensors(path, t, {"op": name, "pad": "x" * pad})


def generate(out_dir):
    global G
    G = torch.Generator().manual_seed(20240501)
    R = lambda name, inputs, fn, **kw: run(out_dir, name, inputs, fn, **kw)

    # binary with broadcasting
    R("add", {"a": rn(3, 4), "b": rn(4)}, lambda a, b: a + b)
    R("sub", {"a": rn(2, 3, 4), "b": rn(3, 1)}, lambda a, b: a - b)
    R("mul", {"a": rn(3, 4), "b": rn(3, 4)}, lambda a, b: a * b)
    R("mul_bcast", {"a": rn(2, 1, 4), "b": rn(3, 1)}, lambda a, b: a * b)
    R("div", {"a": rn(3, 4), "b": pos(1, 4)}, lambda a, b: a / b)
    R("pow", {"a": pos(3, 4), "b": rn(3, 4)}, lambda a, b: a ** b)
    R("add_t", {"a": rn(4, 3), "b": rn(3, 4)}, lambda a, b: a.t() + b)
    # tensor-number
    R("add_scalar", {"a": rn(3, 4)}, lambda a: a + 2.5)
    R("rsub_scalar", {"a": rn(3, 4)}, lambda a: 1.5 - a)
    R("mul_scalar", {"a": rn(3, 4)}, lambda a: a * -3.0)
    R("div_scalar", {"a": rn(3, 4)}, lambda a: a / 7.0)
    R("rdiv_scalar", {"a": pos(3, 4)}, lambda a: 2.0 / a)
    R("pow_scalar", {"a": pos(3, 4)}, lambda a: a ** 2.5)
    R("rpow_scalar", {"a": rn(3, 4)}, lambda a: 2.0 ** a)
    # unary
    un = {"neg": lambda a: -a, "exp": torch.exp, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
          "gelu": F.gelu, "gelu_tanh": lambda a: F.gelu(a, approximate="tanh"),
          "floor": torch.floor, "ceil": torch.ceil, "round": torch.round}
    for k, f in un.items():
        R(k, {"a": rn(4, 5, scale=2.0)}, f)
    for k, f in {"log": torch.log, "sqrt": torch.sqrt, "rsqrt": torch.rsqrt}.items():
        R(k, {"a": pos(4, 5)}, f)
    for k, f in {"abs": torch.abs, "relu": torch.relu, "sign": torch.sign}.items():
        R(k, {"a": away(4, 5)}, f)
    R("gelu_big", {"a": rn(64, 50, scale=3.0)}, F.gelu)
    R("tanh_big", {"a": rn(64, 50, scale=3.0)}, torch.tanh)
    R("clamp", {"a": rn(4, 5)}, lambda a: a.clamp(-0.5, 0.8))
    R("where", {"a": rn(3, 4), "b": rn(4)}, lambda a, b: torch.where(a > 0, a, b))
    R("masked_fill", {"a": rn(3, 4), "m": (torch.rand(1, 4, generator=G) > 0.5).float()},
      lambda a, m: a.masked_fill(m.bool(), -10000.0))
    R("eq", {"a": torch.tensor([[1., 2., 3.], [4., 2., 0.]]), "b": torch.tensor([1., 2., 0.])},
      lambda a, b: a.detach() == b.detach())
    R("lt", {"a": rn(3, 4), "b": rn(4)}, lambda a, b: a.detach() < b.detach())
    R("ge", {"a": rn(3, 4)}, lambda a: a.detach() >= 0.25)
    R("bf16", {"a": rn(4, 5, scale=3.0)}, lambda a: a.to(torch.bfloat16).float(), f32=True)
    # reductions
    R("sum_all", {"a": rn(3, 4)}, lambda a: a.sum())
    R("sum_dim", {"a": rn(3, 4)}, lambda a: a.sum(1))
    R("sum_dims_keep", {"a": rn(2, 3, 4)}, lambda a: a.sum((0, 2), keepdim=True))
    R("sum_big", {"a": rn(300, 200)}, lambda a: a.sum(0))
    R("mean_dim", {"a": rn(3, 4)}, lambda a: a.mean(-1))
    R("mean_dims", {"a": rn(2, 3, 4)}, lambda a: a.mean((0, 1)))
    R("var_dim", {"a": rn(3, 5)}, lambda a: a.var(1))
    R("var_all_biased", {"a": rn(3, 5)}, lambda a: a.var(unbiased=False))
    R("norm2", {"a": rn(3, 4)}, lambda a: a.norm(2, dim=-1))
    R("norm1", {"a": away(3, 4)}, lambda a: a.norm(1))
    R("norm3", {"a": away(3, 4)}, lambda a: a.norm(3, dim=0))
    R("max_dim", {"a": rn(3, 5)}, lambda a: (a.max(1).values, {"idx": a.max(1).indices}), extra=True)
    R("min_dim_keep", {"a": rn(3, 5)}, lambda a: (a.min(0, keepdim=True).values,
                                                   {"idx": a.min(0, keepdim=True).indices}), extra=True)
    R("max_all", {"a": rn(3, 5)}, lambda a: a.max())
    R("argmax_dim", {"a": rn(3, 5)}, lambda a: a.argmax(1))
    R("argmin_all", {"a": rn(3, 5)}, lambda a: a.argmin())
    # views
    R("reshape_t", {"a": rn(3, 4)}, lambda a: a.t().reshape(2, 6))
    R("transpose", {"a": rn(2, 3, 4)}, lambda a: a.transpose(0, 2) * 1.0)
    R("permute", {"a": rn(2, 3, 4)}, lambda a: a.permute(2, 0, 1))
    R("narrow", {"a": rn(3, 6)}, lambda a: a.narrow(1, 2, 3))
    R("select", {"a": rn(3, 6)}, lambda a: a.select(0, 1))
    R("expand", {"a": rn(3, 1)}, lambda a: a.expand(2, 3, 4))
    R("squeeze", {"a": rn(3, 1, 4)}, lambda a: a.squeeze(1))
    R("unsqueeze", {"a": rn(3, 4)}, lambda a: a.unsqueeze(1))
    R("flatten", {"a": rn(2, 3, 4)}, lambda a: a.flatten(1))
    # joining / indexing
    R("cat", {"a": rn(3, 2), "b": rn(3, 4)}, lambda a, b: torch.cat([a, b, a], 1))
    R("stack", {"a": rn(3, 2), "b": rn(3, 2)}, lambda a, b: torch.stack([a, b], 1))
    R("split", {"a": rn(3, 5)}, lambda a: (lambda p: p[0] * 2.0 + p[1] + p[2])(torch.split(a, 2, 1)))
    R("index_select", {"a": rn(4, 3), "idx": torch.tensor([3, 0, 3, 1])}, lambda a, idx: a.index_select(0, idx))
    R("index_select_d1", {"a": rn(4, 3), "idx": torch.tensor([2, 2, 0])}, lambda a, idx: a.index_select(1, idx))
    R("gather", {"a": rn(3, 4), "idx": torch.tensor([[0, 3], [1, 1], [2, 0]])}, lambda a, idx: a.gather(1, idx))
