"""Golden model inputs built with the upstream feature logic (re-implemented here from
BERT tokenization.py / run_classifier.py / run_squad.py rules on top of scripts/ref_tokenizer.py, nezha-cn-base vocab,
lower-cased):
  cls.tsv   classification (convert_examples_to_features): MRPC train pairs (max 48) and
            ChnSentiCorp train singles (max 64): set \t ids \t segments \t mask (padded)
  ner.tsv   NER (run_classifier_ner.py): words from ChnSentiCorp dev texts, cycling BIO
            labels, max 32: hex(words) \t labels \t ids \t label ids (padded)
  squad.tsv CMRC run_squad.py windows: contexts from ChnSentiCorp dev, question/answer
            substrings, max 64, stride 24, max query 12: one line per feature."""
import os
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import ref_tokenizer as R  # noqa: E402

SEED = os.environ.get("RETORT_SEED", os.path.join(HERE, "..", "..", "..", "shared", "seed"))
NER_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "X", "[CLS]", "[SEP]"]


def rows(rel):
    with open(os.path.join(SEED, rel), "rb") as f:
        text = f.read().decode("utf-8", "ignore").lstrip("\ufeff")
    return [l.rstrip("\r").split("\t") for l in text.split("\n") if l.strip()]


def truncate_pair(a, b, room):
    while len(a) + len(b) > room:
        (a if len(a) > len(b) else b).pop()


def cls_features(tok, a, b, max_len):
    ta = tok.tokenize(a)
    tb = tok.tokenize(b) if b is not None else None
    if tb is not None:
        truncate_pair(ta, tb, max_len - 3)
    elif len(ta) > max_len - 2:
        ta = ta[:max_len - 2]
    toks = ["[CLS]"] + ta + ["[SEP]"]
    seg = [0] * len(toks)
    if tb is not None:
        toks += tb + ["[SEP]"]
        seg += [1] * (len(tb) + 1)
    ids = tok.ids(toks)
    mask = [1] * len(ids)
    pad = max_len - len(ids)
    return ids + [0] * pad, seg + [0] * pad, mask + [0] * pad


def ner_features(tok, words, labels, max_len):
    lmap = {l: i for i, l in enumerate(NER_LABELS, 1)}
    toks, labs = [], []
    for w, l in zip(words, labels):
        pieces = tok.tokenize(w)
        toks += pieces
        labs += [l] + ["X"] * (len(pieces) - 1)
    if len(toks) >= max_len - 1:
        toks, labs = toks[:max_len - 2], labs[:max_len - 2]
    toks = ["[CLS]"] + toks + ["[SEP]"]
    lids = [lmap["[CLS]"]] + [lmap[l] for l in labs] + [lmap["[SEP]"]]
    ids = tok.ids(toks)
    pad = max_len - len(ids)
    return ids + [0] * pad, lids + [0] * pad


def char_kind(c):
    if R.is_space(c) or c.isspace():
        return "space"
    if ord(c) in (0, 0xFFFD) or R.is_ctrl(c):
        return "control"
    if R.is_cjk(ord(c)):
        return "cjk"
    if R.is_punc(c):
        return "punct"
    return "other"


def doc_tokens(context):
    toks, c2w, prev_ws = [], [], True
    for c in context:
        k = char_kind(c)
        if k == "space":
            prev_ws = True
        elif k == "other":
            if prev_ws:
                toks.append(c)
            else:
                toks[-1] += c
            prev_ws = False
        else:
            toks.append(c)
            prev_ws = True
        c2w.append(len(toks) - 1)
    return toks, c2w


def is_max_context(spans, cur, pos):
    best, best_i = None, None
    for i, (s, n) in enumerate(spans):
        e = s + n - 1
        if pos < s or pos > e:
            continue
        score = min(pos - s, e - pos) + 0.01 * n
        if best is None or score > best:
            best, best_i = score, i
    return cur == best_i


def squad_features(tok, context, question, answer, max_len, stride, max_q):
    toks, c2w = doc_tokens(context)
    sc = context.index(answer)
    start, end = c2w[sc], c2w[sc + len(answer) - 1]
    q = tok.ids(tok.tokenize(question))[:max_q]
    tok2orig, orig2tok, alld = [], [], []
    for i, t in enumerate(toks):
        orig2tok.append(len(alld))
        for p in tok.ids(tok.tokenize(t)):
            tok2orig.append(i)
            alld.append(p)
    ts = orig2tok[start]
    te = orig2tok[end + 1] - 1 if end < len(toks) - 1 else len(alld) - 1
    want = " ".join(str(i) for i in tok.ids(tok.tokenize(answer)))
    found = False
    for ns in range(ts, te + 1):
        for ne in range(te, ns - 1, -1):
            if " ".join(str(i) for i in alld[ns:ne + 1]) == want:
                ts, te, found = ns, ne, True
                break
        if found:
            break
    room = max_len - len(q) - 3
    spans, s0 = [], 0
    while s0 < len(alld):
        n = min(len(alld) - s0, room)
        spans.append((s0, n))
        if s0 + n == len(alld):
            break
        s0 += min(n, stride)
    out = []
    cls_id, sep_id = tok.vocab["[CLS]"], tok.vocab["[SEP]"]
    for si, (s, n) in enumerate(spans):
        ids = [cls_id] + q + [sep_id]
        seg = [0] * len(ids)
        smask = [1] + [0] * (len(q) + 1)
        t2o, maxc = [], []
        for i in range(n):
            k = s + i
            t2o.append(f"{len(ids)}:{tok2orig[k]}")
            if is_max_context(spans, si, k):
                maxc.append(str(len(ids)))
            ids.append(alld[k]); seg.append(1); smask.append(1)
        ids.append(sep_id); seg.append(1); smask.append(0)
        if ts >= s and te <= s + n - 1:
            sp, ep = ts - s + len(q) + 2, te - s + len(q) + 2
        else:
            sp, ep = 0, 0
        out.append((si, ids, seg, smask, sp, ep, t2o, maxc))
    return out


def j(xs):
    return " ".join(str(x) for x in xs)


def generate(out_dir):
    tok = R.FullTokenizer(os.path.join(SEED, "nezha-cn-base", "vocab.txt"), lower=True)
    with open(os.path.join(out_dir, "cls.tsv"), "w", encoding="utf-8") as f:
        for r in rows("mrpc/train.tsv")[1:]:
            f.write("mrpc\t" + "\t".join(j(x) for x in cls_features(tok, r[3], r[4], 48)) + "\n")
        for r in rows("chnsenti/train.tsv"):
            f.write("chnsenti\t" + "\t".join(j(x) for x in cls_features(tok, r[1], None, 64)) + "\n")
    dev = [r[1] for r in rows("chnsenti/dev.tsv")]
    cyc = ["O", "B-PER", "I-PER", "O", "B-LOC", "I-LOC", "I-LOC", "B-ORG", "O"]
    with open(os.path.join(out_dir, "ner.tsv"), "w", encoding="utf-8") as f:
        for n, text in enumerate(dev[:60]):
            words = [c for c in text[: 20 + n % 30] if not c.isspace()]
            labels = [cyc[(i + n) % len(cyc)] for i in range(len(words))]
            ids, lids = ner_features(tok, words, labels, 32)
            f.write(" ".join(w.encode("utf-8").hex() for w in words) + "\t" + " ".join(labels) +
                    "\t" + j(ids) + "\t" + j(lids) + "\n")
    with open(os.path.join(out_dir, "squad.tsv"), "w", encoding="utf-8") as f:
        for n, ctx in enumerate(dev[:40]):
            if len(ctx) < 40:
                continue
            a0 = 10 + (n * 7) % (len(ctx) - 20)
            answer = ctx[a0:a0 + 3 + n % 5].strip()
            if not answer:
                continue
            question = ctx[(n * 3) % 10:(n * 3) % 10 + 15] + "？"
            for feat in squad_features(tok, ctx, question, answer, 64, 24, 12):
                si, ids, seg, smask, sp, ep, t2o, maxc = feat
                f.write("\t".join([ctx.encode("utf-8").hex(), question.encode("utf-8").hex(),
                                   answer.encode("utf-8").hex(), str(si), j(ids), j(seg), j(smask),
                                   str(sp), str(ep), " ".join(t2o), " ".join(maxc)]) + "\n")
