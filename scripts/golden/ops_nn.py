"""PyTorch references for the nn ops (tests/lua/test_golden_ops_nn.lua).

One safetensors file per case under tests/golden/ops_nn/: inputs (in.*), the
upstream gradient (gout / gout.*), outputs (out / out.*) and input gradients
(grad.*). Inputs are float32; references are computed in float64 from them and
stored as float32. The attention core follows the NEZHA formulas
(NEZHA modeling_nezha.py): Rel[i][j] = R[clip(j-i,-K,K)+K] from the sinusoid table,
scores = (q·kᵀ + q·Relᵀ)/sqrt(d) + (1-mask)*-10000, p = softmax,
ctx = p·v + p·Rel (dropout off)."""
import json
import math
import os

import warnings

import numpy as np
import torch
import torch.nn.functional as F

from common import save_safetensors

G = None
warnings.filterwarnings("ignore", message="reduction: .mean.")


def rn(*shape, scale=1.0):
    return (torch.randn(tuple(shape), generator=G) * scale).float()


def run(out_dir, name, inputs, fn, meta=None, no_grad=(), aux=()):
    """inputs: {name: f32 tensor or int tensor}; fn(**float64 inputs) -> tensor or dict.
    Outputs named in aux are stored (out.<k>) but get no gout and no gradient."""
    xs = {}
    for k, v in inputs.items():
        if v.dtype.is_floating_point:
            xs[k] = v.double().requires_grad_(k not in no_grad)
        else:
            xs[k] = v
    out = fn(**xs)
    outs = out if isinstance(out, dict) else {"": out}
    t = {f"in.{k}": v for k, v in inputs.items()}
    total = 0
    for k, o in outs.items():
        sfx = f".{k}" if k else ""
        t["out" + sfx] = o.detach().float()
        g = rn(*o.shape)
        if k in aux:   # stored for comparison only, not part of the loss
            continue
        t["gout" + sfx] = g
        total = total + (o * g.double()).sum()
    diff = [k for k, v in xs.items() if v.dtype == torch.float64 and v.requires_grad]
    grads = torch.autograd.grad(total, [xs[k] for k in diff], allow_unused=True)
    for k, g in zip(diff, grads):
        if g is not None:
            t[f"grad.{k}"] = g.float()
    save_safetensors(os.path.join(out_dir, name + ".safetensors"), t,
                     {k: json.dumps(v) for k, v in (meta or {}).items()})


def rel_table(S, D, K):
    """NEZHA functional relative positions [S, S, D] (float64 numpy -> float32)."""
    r = np.arange(S)
    idx = np.clip(r[None, :] - r[:, None], -K, K) + K
    tab = np.zeros((2 * K + 1, D))
    pos = np.arange(2 * K + 1)[:, None]
    div = np.power(10000.0, np.arange(0, D, 2) / D)
    tab[:, 0::2] = np.sin(pos / div)
    tab[:, 1::2] = np.cos(pos / div)
    return torch.tensor(tab[idx]).float()


def attention_ref(q, k, v, rel=None, mask=None):
    d = q.shape[-1]
    s = q @ k.transpose(-1, -2)
    if rel is not None:
        # TF layout: [S, B*H, d] x Rel^T [S, d, S]
        B, H, S, _ = q.shape
        qt = q.permute(2, 0, 1, 3).reshape(S, B * H, d)
        s = s + (qt @ rel.transpose(-1, -2)).reshape(S, B, H, S).permute(1, 2, 0, 3)
    s = s / math.sqrt(d)
    if mask is not None:
        s = s + mask
    p = torch.softmax(s, -1)
    c = p @ v
    if rel is not None:
        B, H, S, _ = q.shape
        pt = p.permute(2, 0, 1, 3).reshape(S, B * H, S)
        c = c + (pt @ rel).reshape(S, B, H, d).permute(1, 2, 0, 3)
    return {"scores": s, "probs": p, "context": c}


def generate(out_dir):
    global G
    G = torch.Generator().manual_seed(1234)
    # --- matmul / linear ---
    run(out_dir, "matmul_2d", {"a": rn(5, 7), "b": rn(7, 3)}, lambda a, b: a @ b)
    run(out_dir, "matmul_batched", {"a": rn(2, 3, 5, 7), "b": rn(2, 3, 7, 4)}, lambda a, b: a @ b)
    run(out_dir, "matmul_bcast_weight", {"a": rn(2, 3, 5, 7), "b": rn(7, 4)}, lambda a, b: a @ b)
    run(out_dir, "matmul_bcast_batch", {"a": rn(2, 1, 5, 7), "b": rn(3, 7, 4)}, lambda a, b: a @ b)
    run(out_dir, "matmul_vec_mat", {"a": rn(7), "b": rn(2, 7, 3)}, lambda a, b: a @ b)
    run(out_dir, "matmul_mat_vec", {"a": rn(2, 5, 7), "b": rn(7)}, lambda a, b: a @ b)
    run(out_dir, "matmul_dot", {"a": rn(7), "b": rn(7)}, lambda a, b: a @ b)
    # transposed operands: the Lua test passes at:transpose(-1,-2) / bt:transpose(-1,-2)
    run(out_dir, "matmul_transposed", {"at": rn(2, 7, 5), "bt": rn(4, 7)},
        lambda at, bt: at.transpose(-1, -2) @ bt.transpose(-1, -2))
    run(out_dir, "linear", {"x": rn(2, 3, 8), "w": rn(5, 8), "b": rn(5)}, lambda x, w, b: F.linear(x, w, b))
    run(out_dir, "linear_nobias", {"x": rn(4, 8), "w": rn(6, 8)}, lambda x, w: F.linear(x, w))
    # --- softmax family ---
    run(out_dir, "softmax_last", {"x": rn(3, 4, 9, scale=3)}, lambda x: torch.softmax(x, -1))
    run(out_dir, "softmax_mid", {"x": rn(3, 4, 9, scale=3)}, lambda x: torch.softmax(x, 1))
    run(out_dir, "log_softmax_last", {"x": rn(3, 4, 9, scale=3)}, lambda x: torch.log_softmax(x, -1))
    run(out_dir, "log_softmax_first", {"x": rn(3, 4, 9, scale=3)}, lambda x: torch.log_softmax(x, 0))
    # --- layer norm ---
    run(out_dir, "layer_norm", {"x": rn(2, 3, 16, scale=2), "w": rn(16), "b": rn(16)},
        lambda x, w, b: F.layer_norm(x, (16,), w, b, 1e-12), {"eps": 1e-12})
    run(out_dir, "layer_norm_2d", {"x": rn(2, 3, 8), "w": rn(3, 8), "b": rn(3, 8)},
        lambda x, w, b: F.layer_norm(x, (3, 8), w, b, 1e-5), {"eps": 1e-5})
    run(out_dir, "layer_norm_noaffine", {"x": rn(5, 10)}, lambda x: F.layer_norm(x, (10,), None, None, 1e-5),
        {"eps": 1e-5})
    # --- embedding ---
    run(out_dir, "embedding", {"w": rn(10, 6), "ids": torch.tensor([[1, 3, 3, 9], [0, 1, 9, 2]])},
        lambda w, ids: F.embedding(ids, w))
    # --- losses ---
    lab = torch.tensor([1, 4, -100, 0, 2, -100])
    for red in ("mean", "sum", "none"):
        run(out_dir, f"cross_entropy_{red}", {"x": rn(6, 5, scale=2), "labels": lab},
            lambda x, labels, red=red: F.cross_entropy(x, labels, ignore_index=-100, reduction=red),
            {"reduction": red})
    run(out_dir, "cross_entropy_3d", {"x": rn(2, 3, 5), "labels": torch.tensor([[0, 4, -100], [3, 3, 1]])},
        lambda x, labels: F.cross_entropy(x.reshape(-1, 5), labels.reshape(-1)))
    for red in ("mean", "sum", "none"):
        run(out_dir, f"mse_{red}", {"a": rn(3, 7), "b": rn(3, 7)},
            lambda a, b, red=red: F.mse_loss(a, b, reduction=red), {"reduction": red})
    run(out_dir, "soft_cross_entropy", {"s": rn(4, 6, scale=2), "t": rn(4, 6, scale=2)},
        lambda s, t: (-torch.softmax(t / 2.0, -1) * torch.log_softmax(s / 2.0, -1)).mean(),
        {"T": 2.0}, no_grad=("t",))
    for red in ("batchmean", "sum", "mean", "none"):
        run(out_dir, f"kl_div_{red}",
            {"x": torch.log_softmax(rn(4, 5), -1), "t": torch.softmax(rn(4, 5), -1)},
            lambda x, t, red=red: F.kl_div(x, t, reduction=red), {"reduction": red})
    # --- attention core (NEZHA) ---
    B, H, S, D = 2, 3, 6, 4
    mask01 = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0]]).float()
    madd = ((1.0 - mask01) * -10000.0).reshape(B, 1, 1, S)
    rel = rel_table(S, D, 3)
    for case, use_rel, use_mask in (("plain", False, False), ("rel", True, False),
                                    ("mask", False, True), ("rel_mask", True, True)):
        ins = {"q": rn(B, H, S, D), "k": rn(B, H, S, D), "v": rn(B, H, S, D)}
        if use_rel:
            ins["rel"] = rel
        if use_mask:
            ins["mask"] = madd
        run(out_dir, f"attention_{case}", ins,
            lambda q, k, v, rel=None, mask=None: attention_ref(q, k, v, rel, mask),
            no_grad=("rel", "mask"), aux=("probs",))
    # rel table check values (NEZHA relative-table test vector: d=32, K=4 row p=4)
    save_safetensors(os.path.join(out_dir, "rel_table.safetensors"),
                     {"rel_6_32_4": rel_table(6, 32, 4), "rel_8_4_3": rel_table(8, 4, 3)})
