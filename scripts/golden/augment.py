"""Reference candidate lists for rt.augment — a re-implementation of TinyBERT's
data_augmentation.py (_word_augment, _masked_language_model, _word_distance,
prepare_embedding_retrieval, the StopWordsList and the [^a-z] rule), written from
the description of that script, with one departure that retort also makes: a zero
GloVe row (the "<unk>" line, an earlier line of a repeated word, an all-zero
vector) is never a neighbour and a zero query has no neighbours (upstream divides
by a zero norm and ranks NaN scores).

Writes tests/golden/augment/:
  vocab.txt            a small WordPiece vocabulary (multi-piece words included)
  mlm/                 a random-init BERT with the MLM head (config.json, model.safetensors)
  glove.txt            synthetic GloVe-format vectors (with "<unk>", a repeated word, a zero row)
  candidates.tsv       sentence_index <TAB> word_index (1-based) <TAB> word <TAB> candidates (space separated)
  sentences.txt        the sentences, one a line
"""
import os
import re
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
from models import Model, write_model          # noqa: E402
from ref_tokenizer import FullTokenizer        # noqa: E402

STOP_WORDS = ['i', 'me', 'my', 'myself', 'we', 'our', 'ours', 'ourselves', 'you', "you're", "you've",
              "you'll", "you'd", 'your', 'yours', 'yourself', 'yourselves', 'he', 'him', 'his', 'himself',
              'she', "she's", 'her', 'hers', 'herself', 'it', "it's", 'its', 'itself', 'they', 'them',
              'their', 'theirs', 'themselves', 'this', 'that', "that'll", 'these', 'those', 'am', 'is',
              'are', 'was', 'were', 'be', 'been', 'being', 'have', 'has', 'had', 'having', 'do', 'does',
              'did', 'doing', 'a', 'an', 'the', 'and', 'but', 'if', 'or', 'because', 'as', 'until',
              'while', 'of', 'at', 'by', 'for', 'with', 'about', 'against', 'between', 'into', 'through',
              'during', 'before', 'after', 'above', 'below', 'to', 'from', 'up', 'down', 'in', 'out', 'on',
              'off', 'over', 'under', 'again', 'further', 'then', 'once', 'here', 'there', 'all', 'any',
              'both', 'each', 'few', 'more', 'most', 'other', 'some', 'such', 'no', 'nor', 'not', 'only',
              'own', 'same', 'so', 'than', 'too', 'very', 's', 't', 'can', 'will', 'just', 'don', "don't",
              'should', "should've", 'now', 'd', 'll', 'm', 'o', 're', 've', 'y', 'ain', 'aren', "aren't",
              'couldn', "couldn't", 'didn', "didn't", 'doesn', "doesn't", 'hadn', "hadn't", 'hasn',
              "hasn't", 'haven', "haven't", 'isn', "isn't", 'ma', 'mightn', "mightn't", 'mustn',
              "mustn't", 'needn', "needn't", 'shan', "shan't", 'shouldn', "shouldn't", 'wasn', "wasn't",
              'weren', "weren't", 'won', "won't", 'wouldn', "wouldn't", "'s", "'re"]
assert len(STOP_WORDS) == 173

M = 15

WORDS = """accused brother whom called witness deliberately evidence yucaipa owned chain sold
bought million billion company shares stock market price fell rose percent year week said told
court judge case police officer city state government president minister people report news
cat dog sat mat house car road quick brown fox jumps lazy good bad great small large new old
first last long short high low early late big little young man woman child day night time
amrozi selling safeway dominick referring only""".split()
PIECES = ["distort", "##ing", "##ed", "##ly", "##s", "deliberate", "evid", "##ence", "ref", "##err",
          "wit", "##ness", "##es", "##er", "##a", "##ipa", "yuc", "##x"]
PUNCT = list(".,\"'!?;:()$-")
STOPS_IN_VOCAB = ["the", "a", "of", "to", "and", "his", "he", "in", "on", "for", "is", "was", "it", "s"]

SENTENCES = [
    "Amrozi accused his brother , whom he called \" the witness \" , of deliberately distorting his evidence .",
    "Yucaipa owned Dominick 's before selling the chain to Safeway in 1998 for $ 2.5 billion .",
    "Referring to him as only \" the witness \" , Amrozi accused his brother of deliberately distorting his evidence .",
    "The quick brown fox jumps over the lazy dog and the cat sat on the mat .",
    "Police said the company shares fell 5 percent while the market rose .",
    "Witnesses told the court the judge distorted evidences .",
    # long: the later candidate words sit past the 512-token pair limit
    " ".join(["the"] * 300) + " court judge " + " ".join(["the"] * 220) + " city police fox",
]


def glove_lines():
    g = np.random.RandomState(7)
    words = ["the", ",", ".", "of", "<unk>", "distorting", "deliberately", "evidence", "witnesses",
             "distorted", "evidences", "court", "judge", "police", "city", "fox", "dog", "cat",
             "market", "shares", "company", "witness", "brother"]
    words += ["w%d" % i for i in range(40)]
    lines = []
    for w in words:
        v = g.randn(12)
        lines.append(w + " " + " ".join("%.5f" % x for x in v))
    lines.append("zerovec " + " ".join(["0.0"] * 12))
    lines.append("dog " + " ".join("%.5f" % x for x in g.randn(12)))    # repeated word: last line wins
    return lines


def prepare_embedding_retrieval(path, vocab_size=100000):
    words, embeddings = [], {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            items = line.strip().split()
            words.append(items[0])
            embeddings[items[0]] = [float(x) for x in items[1:]]
            if len(words) == vocab_size:
                break
    vocab = {w: i for i, w in enumerate(words)}
    ids_to_tokens = {i: w for i, w in enumerate(words)}
    dim = len(embeddings[ids_to_tokens[0]])
    emb = np.zeros((len(words), dim))
    for w, v in embeddings.items():
        if w == "<unk>":
            continue
        emb[vocab[w], :] = v
    d = np.sum(emb ** 2, 1) ** 0.5
    zero = d == 0
    d[zero] = 1.0                       # departure: zero rows stay zero (no NaN)
    return (emb.T / d).T, vocab, ids_to_tokens, zero


class Augmentor:
    def __init__(self, model, tok, emb_norm, vocab, ids_to_tokens, zero):
        self.model, self.tok = model, tok
        self.emb_norm, self.vocab, self.ids_to_tokens, self.zero = emb_norm, vocab, ids_to_tokens, zero

    def _word_distance(self, word):
        if word not in self.vocab:
            return []
        idx = self.vocab[word]
        if self.zero[idx]:
            return []
        dist = np.dot(self.emb_norm, self.emb_norm[idx].T)
        dist[idx] = -np.inf
        dist[self.zero] = -np.inf
        cand = np.argsort(-dist, kind="stable")[:M]
        return [self.ids_to_tokens[i] for i in cand if np.isfinite(dist[i])][:M]

    def _masked_language_model(self, sent, word_pieces, mask_id):
        if mask_id >= 512:
            return []
        text = ["[CLS]"] + self.tok.tokenize(sent)
        tlen = len(text)
        text = word_pieces + ["[SEP]"] + text[1:] + ["[SEP]"]
        text = text[:512]
        ids = self.tok.ids(text)
        seg = ([0] * (tlen + 1) + [1] * (len(text) - tlen - 1))[:512]
        with torch.no_grad():
            out = self.model(torch.tensor([ids]), torch.tensor([seg]), torch.ones(1, len(ids), dtype=torch.int64))
        logits = out["mlm_logits"][0, mask_id]
        cand = torch.argsort(logits, descending=True, stable=True)[:M].tolist()
        toks = [self.tok.inv[i] for i in cand]
        return [t for t in toks if t.find("##")]

    def _word_augment(self, sentence, mask_token_idx, mask_token):
        pieces = ["[CLS]"] + self.tok.tokenize(sentence)
        token_idx, ids = -1, []
        for i in range(1, len(pieces)):
            if "##" not in pieces[i]:
                token_idx += 1
                if token_idx < mask_token_idx:
                    ids = []
                elif token_idx == mask_token_idx:
                    ids = [i]
                else:
                    break
            else:
                ids.append(i)
        cands = []
        if len(ids) == 1:
            pieces[ids[0]] = "[MASK]"
            cands = self._masked_language_model(sentence, pieces, ids[0])
        elif len(ids) > 1:
            cands = self._word_distance(mask_token)
            if mask_token.istitle():
                cands = [c.title() for c in cands]
        if not cands:
            cands.append(mask_token)
        return cands

    def augment(self, sent, N=30, p=0.4, rand=None):
        """upstream augment(): the original plus up to N distinct new sentences."""
        import random
        rand = rand or random
        out = [sent]
        tokens = self.tok.basic.tokenize(sent)
        cands = {idx: c for idx, _, c in self.candidates(sent)}
        for _ in range(N):
            new = list(tokens)
            for idx in cands:
                c = rand.choice(cands[idx])
                if rand.random() < p:
                    new[idx] = c
            if " ".join(new) not in out:
                out.append(" ".join(new))
        return out

    def candidates(self, sent):
        tokens = self.tok.basic.tokenize(sent)
        res = []
        for idx, w in enumerate(tokens):
            if not re.search("[^a-z]", w) and w not in STOP_WORDS:
                res.append((idx, w, self._word_augment(sent, idx, w)))
        return res


def generate(out):
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + PUNCT + [str(d) for d in range(10)] + \
        STOPS_IN_VOCAB + WORDS + PIECES + ["over", "him", "as", "while", "before", "'"]
    seen, v2 = set(), []
    for t in vocab:
        if t not in seen:
            seen.add(t)
            v2.append(t)
    vpath = os.path.join(out, "vocab.txt")
    with open(vpath, "w", encoding="utf-8") as f:
        f.write("\n".join(v2) + "\n")
    c = dict(vocab_size=len(v2), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
             intermediate_size=64, hidden_act="gelu", max_position_embeddings=512, type_vocab_size=2,
             heads=["mlm"], _seed=11)
    torch.manual_seed(11)
    model = Model(c).eval()
    write_model(out, "mlm", c, model)
    os.remove(os.path.join(out, "mlm", "pytorch_model.bin"))
    gpath = os.path.join(out, "glove.txt")
    with open(gpath, "w", encoding="utf-8") as f:
        f.write("\n".join(glove_lines()) + "\n")
    tok = FullTokenizer(vpath, lower=True)
    tok.inv = {i: t for i, t in enumerate(v2)}
    emb, gv, ids_to_tokens, zero = prepare_embedding_retrieval(gpath)
    aug = Augmentor(model, tok, emb, gv, ids_to_tokens, zero)
    with open(os.path.join(out, "sentences.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(SENTENCES) + "\n")
    rows = []
    for s, sent in enumerate(SENTENCES):
        for idx, w, cands in aug.candidates(sent):
            rows.append("%d\t%d\t%s\t%s" % (s + 1, idx + 1, w, " ".join(cands)))
    with open(os.path.join(out, "candidates.tsv"), "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
