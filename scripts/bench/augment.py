#!/usr/bin/python3
"""PyTorch peer of scripts/bench/augment.lua: TinyBERT's data augmentation as upstream
runs it (the re-implementation in scripts/golden/augment.py: one BertForMaskedLM
forward per single-piece candidate word over the whole pair, GloVe neighbours by a
numpy dot per multi-piece word), on the same sentences (seed MRPC, else synthetic)
with a BERT-base-sized random-init MLM (scripts/golden/models.py) under
torch.inference_mode, and a synthetic GloVe file.

  /usr/bin/python3 scripts/bench/augment.py --threads 2 [--sentences 200] [--layers 12] [--hidden 768]
prints  bench augment impl=pytorch mode=per_word ... sent_per_s=...
"""
import argparse
import os
import random
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
sys.path.insert(0, os.path.join(HERE, ".."))

import numpy as np      # noqa: E402
import torch            # noqa: E402

import augment as ref   # noqa: E402
from models import Model                 # noqa: E402
from ref_tokenizer import FullTokenizer  # noqa: E402

SEED = os.environ.get("RETORT_SEED", os.path.join(HERE, "..", "..", "..", "shared", "seed"))


def peak_rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return -1.0


def sentences(n):
    out = []
    for split in ("train", "dev"):
        p = os.path.join(SEED, "mrpc", split + ".tsv")
        if os.path.exists(p):
            with open(p, encoding="utf-8-sig") as f:
                for i, line in enumerate(f):
                    c = line.rstrip("\n").split("\t")
                    if i and len(c) >= 5:
                        out += [c[3], c[4]]
    if not out:
        words = ["the", "company", "said", "shares", "fell", "percent", "market", "court", "judge", "police",
                 "report", "yesterday", "billion", "government", "officials", "accused", "evidence", "of", "in", "and"]
        g = random.Random(1)
        out = [" ".join(g.choice(words) for _ in range(22)) + " ." for _ in range(n)]
    return [out[k % len(out)] for k in range(n)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sentences", type=int, default=200)
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--glove_words", type=int, default=20000)
    ap.add_argument("--glove_dim", type=int, default=300)
    ap.add_argument("--N", type=int, default=30)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    vpath = os.path.join(SEED, "nezha-en-base", "vocab.txt")
    tmp = tempfile.mkdtemp()
    sents = sentences(a.sentences)
    if not os.path.exists(vpath):
        seen, v = set(), ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
        for s in sents:
            v += s.lower().split()
        v = [w for w in v if not (w in seen or seen.add(w))]
        v += ["w%d" % k for k in range(len(v) + 1, 28997)]
        vpath = os.path.join(tmp, "vocab.txt")
        with open(vpath, "w") as f:
            f.write("\n".join(v) + "\n")
    tok = FullTokenizer(vpath, lower=True)
    tok.inv = {i: t for t, i in tok.vocab.items()}
    words, seen = [], set()
    for s in sents:
        for w in tok.basic.tokenize(s):
            if w not in seen:
                seen.add(w)
                words.append(w)
    words += ["g%d" % k for k in range(len(words) + 1, a.glove_words + 1)]
    gpath = os.path.join(tmp, "glove.txt")
    rng = np.random.RandomState(7)
    with open(gpath, "w") as f:
        for w in words[:a.glove_words]:
            f.write(w + " " + " ".join("%.4f" % x for x in rng.rand(a.glove_dim) - 0.5) + "\n")
    c = dict(vocab_size=len(tok.vocab), hidden_size=a.hidden, num_hidden_layers=a.layers,
             num_attention_heads=max(1, a.hidden // 64), intermediate_size=4 * a.hidden, hidden_act="gelu",
             max_position_embeddings=512, type_vocab_size=2, heads=["mlm"], _seed=1)
    model = Model(c).eval()
    emb, gv, ids_to_tokens, zero = ref.prepare_embedding_retrieval(gpath)
    aug = ref.Augmentor(model, tok, emb, gv, ids_to_tokens, zero)
    rand = random.Random(1)
    t0 = time.perf_counter()
    nout = 0
    with torch.inference_mode():
        for s in sents:
            nout += len(aug.augment(s, N=a.N, p=0.4, rand=rand))
    dt = time.perf_counter() - t0
    print(f"bench augment impl=pytorch mode=per_word model={a.layers}L-{a.hidden}H sentences={len(sents)} "
          f"threads={a.threads} outputs={nout} ms={dt * 1e3:.1f} sent_per_s={len(sents) / dt:.3f} "
          f"peak_rss_mb={peak_rss_mb():.0f}")


if __name__ == "__main__":
    main()
