"""Reference for pretrain.lua (tests/lua/test_pretrain.lua): one step of NEZHA
pretraining, written from NEZHA-TensorFlow/run_pretraining.py and optimization.py (not copied):
the MLM head at masked_lm_positions,
    mlm_loss = sum(w * -log p[label]) / (sum(w) + 1e-5),  nsp_loss = mean CE,
total = mlm + nsp; gradients; then one LAMB step (TF global clipping at 1.0,
polynomial schedule, bias correction with t = 1, trust ratio) using
optim.run_lamb. Writes <out>/model/ (config, weights), <out>/ref.safetensors."""
import os

import torch
import torch.nn.functional as F

import models
import optim
from common import save_safetensors

CFG = dict(vocab_size=40, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=24,
           hidden_act="gelu", max_position_embeddings=32, type_vocab_size=2, use_relative_position=True,
           max_relative_position=4, heads=["mlm", "nsp"], _seed=11)
B, S, P = 3, 10, 4
LAMB = dict(lr=1e-2, betas=[0.9, 0.999], eps=1e-6, weight_decay=0.01, schedule="polynomial",
            warmup_steps=0, total_steps=10, max_grad_norm=1.0)


def generate(out_dir):
    torch.manual_seed(0)
    m = models.Model(CFG).eval()
    os.remove(os.path.join(models.write_model(out_dir, "model", CFG, m), "pytorch_model.bin"))
    g = torch.Generator().manual_seed(5)
    ids = torch.randint(5, CFG["vocab_size"], (B, S), generator=g)
    lens = [S, 7, 5]
    mask = torch.zeros(B, S, dtype=torch.int64)
    tt = torch.zeros(B, S, dtype=torch.int64)
    for b, n in enumerate(lens):
        mask[b, :n] = 1
        ids[b, n:] = 0
        tt[b, n // 2:n] = 1
    pos = torch.tensor([[1, 3, 6, 8], [2, 4, 0, 0], [1, 0, 0, 0]])
    wts = torch.tensor([[1.0, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]])
    lab = torch.randint(0, CFG["vocab_size"], (B, P), generator=g) * (wts > 0).long()
    nsp = torch.tensor([0, 1, 1])
    o = m(ids, tt, mask)
    logits = torch.gather(o["mlm_logits"], 1, pos.unsqueeze(-1).expand(B, P, CFG["vocab_size"]))
    lp = F.log_softmax(logits, dim=-1)
    per = -torch.gather(lp, 2, lab.unsqueeze(-1)).squeeze(-1)
    mlm = (per * wts).sum() / (wts.sum() + 1e-5)
    nsp_loss = F.cross_entropy(o["nsp_logits"], nsp)
    total = mlm + nsp_loss
    total.backward()
    params = {n: p.detach().clone() for n, p in m.named_parameters()}
    grads = {n: p.grad.detach().clone() for n, p in m.named_parameters()}
    optim_names = list(params)
    saved_nd = optim.no_decay
    final, mm, vv, lrs = optim.run_lamb(params, [grads], LAMB)
    assert optim.no_decay is saved_nd
    t = {"input_ids": ids, "token_type_ids": tt, "attention_mask": mask, "positions": pos, "weights": wts,
         "labels": lab, "nsp": nsp, "mlm_loss": mlm.detach().reshape(1), "nsp_loss": nsp_loss.detach().reshape(1),
         "per_prediction": per.detach()}
    for n in optim_names:
        t["grad." + n] = grads[n]
        t["final." + n] = final[n]
    save_safetensors(os.path.join(out_dir, "ref.safetensors"), t)
