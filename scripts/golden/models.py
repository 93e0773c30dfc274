"""Reference outputs for the models (BERT, TinyBERT, NEZHA) — written from the
description of the upstream code (BERT / NEZHA / TinyBERT modeling.py; not copied):

  * post-LN BERT encoder, LayerNorm eps 1e-12, additive -10000 mask on keys;
  * NEZHA: no absolute positions, functional relative positions
    Rel[i][j] = R[clip(j-i, -K, K) + K], R[p][2k] = sin(p / 10000^(2k/d)),
    R[p][2k+1] = cos(...), evaluated in float64 at the shifted index p, then float32,
    added on the key side before scaling and on the value side after dropout;
  * TinyBERT: fit_dense on every hidden state (embeddings included), classifier
    logits = classifier(relu(pooled)); BERT standard: classifier(dropout(pooled));
  * attention outputs are the scaled, masked, pre-softmax scores.

Writes tests/golden/models/<name>/{config.json, model.safetensors, pytorch_model.bin}
and <name>/ref.safetensors (inputs, every output, gradients), distill.safetensors
(TinyBERT losses between the bert teacher and the tinybert student)."""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from common import save_safetensors

B, S = 3, 8


def sinusoid_table(K, d):
    """R[2K+1, d] at shifted index p = 0..2K (float64 then float32)."""
    p = np.arange(2 * K + 1, dtype=np.float64)[:, None]
    k = np.arange(d, dtype=np.float64)[None, :]
    ang = p / np.power(10000.0, 2.0 * np.floor(k / 2.0) / d)
    t = np.where(np.arange(d)[None, :] % 2 == 0, np.sin(ang), np.cos(ang))
    return torch.tensor(t).float()


def rel_positions(L, K, d):
    i = torch.arange(L)[:, None]
    j = torch.arange(L)[None, :]
    idx = torch.clamp(j - i, -K, K) + K
    return sinusoid_table(K, d)[idx]          # [L, L, d]


ACTS = {"gelu": lambda x: 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0))),
        "gelu_new": lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3))),
        "relu": F.relu}


class LN(nn.Module):
    def __init__(self, h, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(h))
        self.bias = nn.Parameter(torch.zeros(h))
        self.eps = eps

    def forward(self, x):
        u = x.mean(-1, keepdim=True)
        s = (x - u).pow(2).mean(-1, keepdim=True)
        return self.weight * (x - u) / torch.sqrt(s + self.eps) + self.bias


class Embeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.word_embeddings = nn.Embedding(c["vocab_size"], c["hidden_size"])
        if not c.get("use_relative_position", False):
            self.position_embeddings = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])
        self.token_type_embeddings = nn.Embedding(c.get("type_vocab_size", 2), c["hidden_size"])
        self.LayerNorm = LN(c["hidden_size"], 1e-12)

    def forward(self, ids, tt):
        e = self.word_embeddings(ids) + self.token_type_embeddings(tt)
        if hasattr(self, "position_embeddings"):
            e = e + self.position_embeddings(torch.arange(ids.shape[1]))[None]
        return self.LayerNorm(e)


class SelfAttn(nn.Module):
    def __init__(self, c):
        super().__init__()
        H = c["hidden_size"]
        self.n = c["num_attention_heads"]
        self.d = H // self.n
        self.query, self.key, self.value = nn.Linear(H, H), nn.Linear(H, H), nn.Linear(H, H)

    def forward(self, x, mask_add, rel):
        Bx, L, H = x.shape
        sh = lambda t: t.view(Bx, L, self.n, self.d).permute(0, 2, 1, 3)
        q, k, v = sh(self.query(x)), sh(self.key(x)), sh(self.value(x))
        s = q @ k.transpose(-1, -2)
        if rel is not None:
            # q_i . Rel[i][j], per query position i
            s = s + torch.einsum("bhid,ijd->bhij", q, rel)
        s = s / math.sqrt(self.d) + mask_add
        p = torch.softmax(s, -1)
        c = p @ v
        if rel is not None:
            c = c + torch.einsum("bhij,ijd->bhid", p, rel)
        return c.permute(0, 2, 1, 3).reshape(Bx, L, H), s


class Layer(nn.Module):
    def __init__(self, c):
        super().__init__()
        H, I = c["hidden_size"], c["intermediate_size"]
        self.attention = nn.Module()
        self.attention.self = SelfAttn(c)
        self.attention.output = nn.Module()
        self.attention.output.dense = nn.Linear(H, H)
        self.attention.output.LayerNorm = LN(H, 1e-12)
        self.intermediate = nn.Module()
        self.intermediate.dense = nn.Linear(H, I)
        self.output = nn.Module()
        self.output.dense = nn.Linear(I, H)
        self.output.LayerNorm = LN(H, 1e-12)
        self.act = ACTS[c["hidden_act"]]

    def forward(self, x, mask_add, rel):
        a, s = self.attention.self(x, mask_add, rel)
        a = self.attention.output.LayerNorm(self.attention.output.dense(a) + x)
        m = self.act(self.intermediate.dense(a))
        return self.output.LayerNorm(self.output.dense(m) + a), s


class Bert(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.embeddings = Embeddings(c)
        self.encoder = nn.Module()
        self.encoder.layer = nn.ModuleList([Layer(c) for _ in range(c["num_hidden_layers"])])
        self.pooler = nn.Module()
        self.pooler.dense = nn.Linear(c["hidden_size"], c["hidden_size"])

    def forward(self, ids, tt, mask):
        mask_add = (1.0 - mask[:, None, None, :].float()) * -10000.0
        rel = None
        if self.c.get("use_relative_position", False):
            K = self.c.get("max_relative_position", 64)
            rel = rel_positions(ids.shape[1], K, self.c["hidden_size"] // self.c["num_attention_heads"])
        h = self.embeddings(ids, tt)
        hs, atts = [h], []
        for lay in self.encoder.layer:
            h, s = lay(h, mask_add, rel)
            hs.append(h)
            atts.append(s)
        pooled = torch.tanh(self.pooler.dense(h[:, 0]))
        return hs, atts, pooled


class Model(nn.Module):
    """BERT/NEZHA/TinyBERT with the heads named in c["heads"]."""

    def __init__(self, c):
        super().__init__()
        self.c = c
        H, V = c["hidden_size"], c["vocab_size"]
        self.bert = Bert(c)
        heads = c.get("heads", [])
        if "mlm" in heads or "nsp" in heads:
            self.cls = nn.Module()
        if "mlm" in heads:
            self.cls.predictions = nn.Module()
            p = self.cls.predictions
            p.transform = nn.Module()
            p.transform.dense = nn.Linear(H, H)
            p.transform.LayerNorm = LN(H, 1e-12)
            p.decoder = nn.Linear(H, V, bias=False)
            p.decoder.weight = self.bert.embeddings.word_embeddings.weight   # tied
            p.bias = nn.Parameter(torch.zeros(V))
        if "nsp" in heads:
            self.cls.seq_relationship = nn.Linear(H, 2)
        if "classifier" in heads or "token_classifier" in heads:
            self.classifier = nn.Linear(H, c["num_labels"])
        if "qa" in heads:
            self.qa_outputs = nn.Linear(H, 2)
        if "fit_size" in c:
            self.fit_dense = nn.Linear(H, c["fit_size"])
        self.act = ACTS[c["hidden_act"]]
        g = torch.Generator().manual_seed(c["_seed"])
        for name, prm in self.named_parameters():
            with torch.no_grad():
                if name.endswith("LayerNorm.weight"):
                    prm.fill_(1.0)
                elif name.endswith("bias"):
                    prm.copy_(torch.randn(prm.shape, generator=g) * 0.05)   # nonzero: tests use them
                else:
                    prm.copy_(torch.randn(prm.shape, generator=g) * 0.1)
                if name.endswith("LayerNorm.weight"):
                    prm.add_(torch.randn(prm.shape, generator=g) * 0.1)

    def forward(self, ids, tt, mask):
        hs, atts, pooled = self.bert(ids, tt, mask)
        out = {"hidden": hs, "att": atts, "pooled": pooled}
        seq = hs[-1]
        heads = self.c.get("heads", [])
        if "mlm" in heads:
            p = self.cls.predictions
            t = p.transform.LayerNorm(self.act(p.transform.dense(seq)))
            out["mlm_logits"] = t @ self.bert.embeddings.word_embeddings.weight.t() + p.bias
        if "nsp" in heads:
            out["nsp_logits"] = self.cls.seq_relationship(pooled)
        if "classifier" in heads:
            x = F.relu(pooled) if self.c.get("classifier_activation") == "relu" else pooled
            out["logits"] = self.classifier(x)
        if "token_classifier" in heads:
            out["logits"] = self.classifier(seq)
        if "qa" in heads:
            se = self.qa_outputs(seq)
            out["start_logits"], out["end_logits"] = se[..., 0], se[..., 1]
        if hasattr(self, "fit_dense"):
            out["fit"] = [self.fit_dense(h) for h in hs]
        return out


CONFIGS = {
    # teacher: plain BERT, pretraining heads + standard classifier
    "bert": dict(vocab_size=100, hidden_size=32, num_hidden_layers=4, num_attention_heads=4,
                 intermediate_size=64, hidden_act="gelu", max_position_embeddings=16,
                 type_vocab_size=2, heads=["mlm", "nsp", "classifier"], num_labels=3,
                 classifier_activation="none", _seed=1),
    # student: TinyBERT with fit_dense and the relu classifier
    "tinybert": dict(vocab_size=100, hidden_size=16, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=40, hidden_act="gelu", max_position_embeddings=16,
                     type_vocab_size=2, heads=["classifier"], num_labels=3, fit_size=32,
                     classifier_activation="relu", _seed=2),
    # NEZHA with K = 3 < S - 1 so the clipping matters
    "nezha": dict(vocab_size=120, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                  intermediate_size=48, hidden_act="gelu", max_position_embeddings=16,
                  type_vocab_size=2, use_relative_position=True, max_relative_position=3,
                  heads=["mlm", "nsp", "classifier"], num_labels=2, classifier_activation="none",
                  _seed=3),
    # NEZHA with span QA head and tanh GELU; K larger than the sequence
    "nezha_qa": dict(vocab_size=60, hidden_size=24, num_hidden_layers=1, num_attention_heads=3,
                     intermediate_size=32, hidden_act="gelu_new", max_position_embeddings=16,
                     type_vocab_size=2, use_relative_position=True, max_relative_position=64,
                     heads=["qa"], _seed=4),
    # BERT token classification with relu FFN, 3 token types
    "bert_tok": dict(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=24, hidden_act="relu", max_position_embeddings=12,
                     type_vocab_size=3, heads=["token_classifier"], num_labels=5, _seed=5),
}


def make_inputs(V, ntypes, seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(1, V, (B, S), generator=g)
    lens = [S, 5, 3]
    mask = torch.zeros(B, S, dtype=torch.int64)
    tt = torch.zeros(B, S, dtype=torch.int64)
    for b, n in enumerate(lens):
        mask[b, :n] = 1
        ids[b, n:] = 0
        tt[b, n // 2:n] = 1 if ntypes == 2 else (b % (ntypes - 1)) + 1
    return ids, tt, mask


def write_model(out, name, c, m):
    d = os.path.join(out, name)
    os.makedirs(d, exist_ok=True)
    cfg = {k: v for k, v in c.items() if not k.startswith("_")}
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
    sd = m.state_dict()
    torch.save(sd, os.path.join(d, "pytorch_model.bin"))
    # safetensors: tied decoder weight left out (as the hub does)
    save_safetensors(os.path.join(d, "model.safetensors"),
                     {k: v for k, v in sd.items() if k != "cls.predictions.decoder.weight"},
                     {"format": "pt"})
    return d


def outputs_dict(o, prefix=""):
    r = {}
    for i, h in enumerate(o["hidden"]):
        r[f"{prefix}hidden.{i}"] = h
    for i, a in enumerate(o["att"]):
        r[f"{prefix}att.{i}"] = a
    r[prefix + "pooled"] = o["pooled"]
    for k in ("logits", "mlm_logits", "nsp_logits", "start_logits", "end_logits"):
        if k in o:
            r[prefix + k] = o[k]
    for i, h in enumerate(o.get("fit", [])):
        r[f"{prefix}fit.{i}"] = h
    return r


def task_loss(c, o, labels, mlm_labels, nsp_labels, span):
    loss = 0.0
    heads = c["heads"]
    if "classifier" in heads:
        loss = loss + F.cross_entropy(o["logits"], labels)
    if "token_classifier" in heads:
        loss = loss + F.cross_entropy(o["logits"].reshape(-1, c["num_labels"]), span[0].reshape(-1),
                                      ignore_index=-100)
    if "mlm" in heads:
        loss = loss + F.cross_entropy(o["mlm_logits"].reshape(-1, c["vocab_size"]), mlm_labels.reshape(-1),
                                      ignore_index=-100)
    if "nsp" in heads:
        loss = loss + F.cross_entropy(o["nsp_logits"], nsp_labels)
    if "qa" in heads:
        loss = loss + (F.cross_entropy(o["start_logits"], span[1]) + F.cross_entropy(o["end_logits"], span[2])) / 2
    return loss


def distill_losses(so, to, T, smap_att, smap_hid):
    z = lambda x: torch.where(x <= -1e2, torch.zeros_like(x), x)
    att = sum(F.mse_loss(z(so["att"][i]), z(to["att"][j])) for i, j in enumerate(smap_att))
    rep = sum(F.mse_loss(so["fit"][i], to["hidden"][j]) for i, j in enumerate(smap_hid))
    ps = F.log_softmax(so["logits"] / T, -1)
    pt = F.softmax(to["logits"] / T, -1)
    pred = (-pt * ps).mean()
    return att, rep, pred


def generate(out):
    torch.manual_seed(0)
    models, outs = {}, {}
    for name, c in CONFIGS.items():
        m = Model(c).eval()
        write_model(out, name, c, m)
        ids, tt, mask = make_inputs(c["vocab_size"], c.get("type_vocab_size", 2), 10 + c["_seed"])
        g = torch.Generator().manual_seed(20 + c["_seed"])
        labels = torch.randint(0, c.get("num_labels", 2), (B,), generator=g)
        mlm_labels = torch.full((B, S), -100, dtype=torch.int64)
        mlm_labels[0, 1], mlm_labels[0, 4], mlm_labels[1, 2], mlm_labels[2, 1] = 5, 7, 9, 11
        nsp_labels = torch.tensor([0, 1, 1])
        tok_labels = torch.randint(0, c.get("num_labels", 2), (B, S), generator=g)
        tok_labels[mask == 0] = -100
        starts, ends = torch.tensor([1, 2, 0]), torch.tensor([3, 4, 2])
        o = m(ids, tt, mask)
        ref = {"input_ids": ids, "token_type_ids": tt, "attention_mask": mask, "labels": labels,
               "mlm_labels": mlm_labels, "nsp_labels": nsp_labels, "tok_labels": tok_labels,
               "start_positions": starts, "end_positions": ends}
        ref.update(outputs_dict(o))
        loss = task_loss(c, o, labels, mlm_labels, nsp_labels, (tok_labels, starts, ends))
        m.zero_grad()
        loss.backward()
        ref["loss"] = loss.detach().reshape(())
        for pn, p in m.named_parameters():
            ref["grad." + pn] = p.grad if p.grad is not None else torch.zeros_like(p)
        if c.get("use_relative_position"):
            K = c["max_relative_position"]
            ref["rel_table"] = sinusoid_table(K, c["hidden_size"] // c["num_attention_heads"])
        save_safetensors(os.path.join(out, name, "ref.safetensors"), ref)
        models[name], outs[name] = m, (ids, tt, mask, labels)

    # distillation: teacher bert (4 layers) -> student tinybert (2 layers), k = 2
    t, s = models["bert"], models["tinybert"]
    ids, tt, mask, labels = outs["bert"]
    with torch.no_grad():
        to = t(ids, tt, mask)
    s.zero_grad()
    so = s(ids, tt, mask)
    k = 2
    smap_att = [i * k + k - 1 for i in range(2)]
    smap_hid = [j * k for j in range(3)]
    T = 2.0
    att, rep, pred = distill_losses(so, to, T, smap_att, smap_hid)
    (att + rep).backward()
    d = {"input_ids": ids, "token_type_ids": tt, "attention_mask": mask,
         "att": att.detach().reshape(()), "rep": rep.detach().reshape(()),
         "pred": pred.detach().reshape(()), "temperature": torch.tensor(T)}
    for pn, p in s.named_parameters():
        d["grad." + pn] = p.grad
    save_safetensors(os.path.join(out, "distill.safetensors"), d)
