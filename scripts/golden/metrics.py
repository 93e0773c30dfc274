"""Metric references (tests/lua/test_golden_metrics.lua).

Classification and correlation metrics come from scikit-learn / SciPy (Debian
python3-sklearn, python3-scipy); NER entity scores from a port of conlleval's
chunk rules; NEZHA token-level P/R/F from sklearn's micro average over the
positive labels; SQuAD v1.1 and CMRC 2018 from ports of their official
evaluation scripts (the CMRC word tokenizer is NLTK's NLTKWordTokenizer when
python3-nltk is installed, else a port of the Treebank rules; no Punkt sentence
splitting). Writes metrics/cases.json."""
import collections
import json
import math
import os
import random
import re
import string

import numpy as np
from scipy import stats
from sklearn import metrics as skm


def nan_to_none(x):
    x = float(x)
    return None if math.isnan(x) else x


def classification_cases(rng):
    cases = []

    def add(name, pred, gold):
        c = {"name": name, "pred": pred, "gold": gold,
             "accuracy": skm.accuracy_score(gold, pred),
             "mcc": float(skm.matthews_corrcoef(gold, pred))}
        for avg in ("macro", "micro", "weighted"):
            p, r, f, _ = skm.precision_recall_fscore_support(gold, pred, average=avg, zero_division=0)
            c[avg] = [float(p), float(r), float(f)]
        if set(gold) | set(pred) <= {0, 1}:
            p, r, f, _ = skm.precision_recall_fscore_support(gold, pred, average="binary", pos_label=1,
                                                             zero_division=0)
            c["binary"] = [float(p), float(r), float(f)]
        cases.append(c)

    for n, k in ((40, 2), (57, 3), (30, 5)):
        gold = [rng.randrange(k) for _ in range(n)]
        pred = [g if rng.random() < 0.6 else rng.randrange(k) for g in gold]
        add("random_%d_%d" % (n, k), pred, gold)
    add("all_one_class", [0] * 10, [0] * 10)
    add("pred_one_class", [1] * 12, [0, 1] * 6)
    add("gold_one_class_binary", [0, 1, 0, 0, 1], [1] * 5)
    add("no_positive", [0, 0, 0], [0, 0, 0])
    add("perfect", [0, 1, 2, 1], [0, 1, 2, 1])
    add("inverse", [1, 0, 1, 0], [0, 1, 0, 1])
    add("missing_label_in_pred", [0, 0, 1, 1, 0], [0, 2, 1, 2, 0])
    return cases


def correlation_cases(rng):
    cases = []

    def add(name, x, y):
        cases.append({"name": name, "x": x, "y": y,
                      "pearson": nan_to_none(stats.pearsonr(x, y)[0]) if len(set(x)) > 1 and len(set(y)) > 1 else None,
                      "spearman": nan_to_none(stats.spearmanr(x, y)[0]) if len(set(x)) > 1 and len(set(y)) > 1 else None})

    x = [rng.uniform(0, 5) for _ in range(50)]
    add("random", x, [v + rng.gauss(0, 1) for v in x])
    add("ties", [round(rng.uniform(0, 5)) for _ in range(40)], [round(rng.uniform(0, 5) * 2) / 2 for _ in range(40)])
    add("ties_correlated", [1, 1, 2, 2, 2, 3, 4, 4, 5], [1, 2, 2, 2, 3, 3, 5, 5, 5])
    add("perfect_negative", [1, 2, 3, 4], [8, 6, 4, 2])
    add("constant", [2.0, 2.0, 2.0], [1.0, 2.0, 3.0])
    return cases


# --- conlleval chunk rules ---------------------------------------------------
def split_tag(t):
    if t == "O":
        return "O", ""
    m = re.match(r"^([BIESL])[-_](.+)$", t)
    if m:
        return ("E" if m.group(1) == "L" else m.group(1)), m.group(2)
    return "I", t


def end_of_chunk(pt, t, pty, ty):
    return (pt in ("E", "S") or (pt == "B" and t in ("B", "S", "O")) or (pt == "I" and t in ("B", "S", "O"))
            or (pt != "O" and pty != ty))


def start_of_chunk(pt, t, pty, ty):
    return (t in ("B", "S") or (pt in ("E", "S", "O") and t in ("E", "I")) or (t != "O" and pty != ty))


def chunks(tags):
    out, pt, pty, begin = [], "O", "", None
    for i, tag in enumerate(list(tags) + ["O"]):
        t, ty = split_tag(tag)
        if begin is not None and end_of_chunk(pt, t, pty, ty):
            out.append((pty, begin, i - 1))
            begin = None
        if start_of_chunk(pt, t, pty, ty):
            begin = i
        pt, pty = t, ty
    return out


def ner_cases(rng):
    types = ["PER", "ORG", "LOC"]
    tagset = ["O", "O", "O"] + ["B-" + t for t in types] + ["I-" + t for t in types]
    cases = []
    for name, n_sent in (("random", 12), ("small", 3)):
        gold, pred = [], []
        for _ in range(n_sent):
            L = rng.randrange(1, 15)
            g = [rng.choice(tagset) for _ in range(L)]
            p = [x if rng.random() < 0.7 else rng.choice(tagset) for x in g]
            gold.append(g)
            pred.append(p)
        tp = npred = ngold = 0
        per = collections.defaultdict(lambda: [0, 0, 0])
        for g, p in zip(gold, pred):
            gc, pc = set(chunks(g)), chunks(p)
            for c in gc:
                per[c[0]][2] += 1
            for c in pc:
                per[c[0]][1] += 1
                if c in gc:
                    per[c[0]][0] += 1
                    tp += 1
            npred += len(pc)
            ngold += len(gc)
        P = tp / npred if npred else 0.0
        R = tp / ngold if ngold else 0.0
        F = 2 * P * R / (P + R) if P + R else 0.0
        cases.append({"name": name, "pred": pred, "gold": gold, "precision": P, "recall": R, "f1": F,
                      "n_correct": tp, "n_pred": npred, "n_gold": ngold})
    # NEZHA token level: ids 0..10, positive 2..7
    gid = [rng.randrange(11) for _ in range(200)]
    pid = [g if rng.random() < 0.7 else rng.randrange(11) for g in gid]
    p, r, f, _ = skm.precision_recall_fscore_support(gid, pid, labels=[2, 3, 4, 5, 6, 7], average="micro",
                                                     zero_division=0)
    token = {"pred": pid, "gold": gid, "precision": float(p), "recall": float(r), "f1": float(f)}
    return cases, token


# --- SQuAD v1.1 official rules -----------------------------------------------
def squad_norm(s):
    s = s.lower()
    s = "".join(ch for ch in s if ch not in set(string.punctuation))
    s = re.sub(r"\b(a|an|the)\b", " ", s)
    return " ".join(s.split())


def squad_f1(pred, gt):
    pt, gt_ = squad_norm(pred).split(), squad_norm(gt).split()
    common = collections.Counter(pt) & collections.Counter(gt_)
    ns = sum(common.values())
    if ns == 0:
        return 0.0
    p, r = ns / len(pt), ns / len(gt_)
    return 2 * p * r / (p + r)


# --- CMRC 2018 official rules (ymcui/cmrc2018), NLTK Treebank tokenizer -------
STARTING_QUOTES = [(re.compile(r'^\"'), r'``'), (re.compile(r'(``)'), r' \1 '),
                   (re.compile(r'([ (\[{<])"'), r'\1 `` ')]
PUNCTUATION = [(re.compile(r'([:,])([^\d])'), r' \1 \2'), (re.compile(r'([:,])$'), r' \1 '),
               (re.compile(r'\.\.\.'), r' ... '), (re.compile(r'[;@#$%&]'), r' \g<0> '),
               (re.compile(r'([^\.])(\.)([\]\)}>"\']*)\s*$'), r'\1 \2\3 '), (re.compile(r'[?!]'), r' \g<0> '),
               (re.compile(r"([^'])' "), r"\1 ' ")]
PARENS = [(re.compile(r'[\]\[\(\)\{\}\<\>]'), r' \g<0> ')]
DASHES = [(re.compile(r'--'), r' -- ')]
ENDING_QUOTES = [(re.compile(r'"'), " '' "), (re.compile(r'(\S)(\'\')'), r'\1 \2 '),
                 (re.compile(r"([^' ])('[sS]|'[mM]|'[dD]|') "), r"\1 \2 "),
                 (re.compile(r"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) "), r"\1 \2 ")]
CONTRACTIONS2 = [re.compile(p) for p in (r'(?i)\b(can)(not)\b', r"(?i)\b(d)('ye)\b", r'(?i)\b(gim)(me)\b',
                                          r'(?i)\b(gon)(na)\b', r'(?i)\b(got)(ta)\b', r"(?i)\b(lem)(me)\b",
                                          r"(?i)\b(mor)('n)\b", r'(?i)\b(wan)(na) ')]
CONTRACTIONS3 = [re.compile(r"(?i) ('t)(is)\b"), re.compile(r"(?i) ('t)(was)\b")]


def _treebank_port(text):
    for rx, sub in STARTING_QUOTES + PUNCTUATION + PARENS + DASHES:
        text = rx.sub(sub, text)
    text = " " + text + " "
    for rx, sub in ENDING_QUOTES:
        text = rx.sub(sub, text)
    for rx in CONTRACTIONS2 + CONTRACTIONS3:
        text = rx.sub(r' \1 \2 ', text)
    return text.split()


try:  # the tokenizer nltk.word_tokenize runs per sentence (NLTK 3.8), without Punkt
    from nltk.tokenize import NLTKWordTokenizer as _NWT
    word_tokenize = _NWT().tokenize
except ImportError:  # older Treebank rules; identical on the cases below
    word_tokenize = _treebank_port


SP_CHAR = ['-', ':', '_', '*', '^', '/', '\\', '~', '`', '+', '=', '，', '。', '：', '？', '！', '“', '”', '；',
           '’', '《', '》', '……', '·', '、', '「', '」', '（', '）', '－', '～', '『', '』']


def mixed_segmentation(in_str, rm_punc=False):
    in_str = str(in_str).lower().strip()
    segs_out, temp_str = [], ""
    for char in in_str:
        if rm_punc and char in SP_CHAR:
            continue
        if re.search(r'[\u4e00-\u9fa5]', char) or char in SP_CHAR:
            if temp_str != "":
                segs_out.extend(word_tokenize(temp_str))
                temp_str = ""
            segs_out.append(char)
        else:
            temp_str += char
    if temp_str != "":
        segs_out.extend(word_tokenize(temp_str))
    return segs_out


def remove_punctuation(in_str):
    in_str = str(in_str).lower().strip()
    return "".join(c for c in in_str if c not in SP_CHAR)


def find_lcs(s1, s2):
    m = [[0 for _ in range(len(s2) + 1)] for _ in range(len(s1) + 1)]
    mmax = 0
    for i in range(len(s1)):
        for j in range(len(s2)):
            if s1[i] == s2[j]:
                m[i + 1][j + 1] = m[i][j] + 1
                mmax = max(mmax, m[i + 1][j + 1])
    return mmax


def cmrc_f1(answers, pred):
    scores = []
    for ans in answers:
        a, p = mixed_segmentation(ans, True), mixed_segmentation(pred, True)
        lcs = find_lcs(a, p)
        if lcs == 0:
            scores.append(0)
            continue
        P, R = lcs / len(p), lcs / len(a)
        scores.append(2 * P * R / (P + R))
    return max(scores)


def cmrc_em(answers, pred):
    return 1 if any(remove_punctuation(a) == remove_punctuation(pred) for a in answers) else 0


RC_QA = [
    # (answers, prediction)
    (["1990年"], "1990年"),
    (["北京大学"], "北京"),
    (["《红楼梦》"], "红楼梦"),
    (["曹雪芹", "清代曹雪芹"], "清代的曹雪芹"),
    (["The Beatles"], "the beatles!"),
    (["Apple Inc."], "apple inc"),
    (["2,000 people"], "2000 people"),
    (["NBA总决赛MVP"], "NBA MVP"),
    (["iPhone 6s"], "iphone6s"),
    (["\"Hello,\" he said"], "hello he said"),
    (["don't stop"], "do n't stop"),
    (["cannot"], "can not"),
    (["(a) test"], "a test"),
    (["约10:30"], "10：30"),
    ([""], ""),
    (["非空答案"], ""),
    (["3.14"], "3.14."),
    (["Ｕｎｉｃｏｄｅ ＡＢＣ"], "ｕｎｉｃｏｄｅ abc"),
    (["the end..."], "end"),
    (["O'Neil's book"], "o'neil 's book"),
    (["a--b"], "a -- b"),
    (["  空格  "], "空格"),
]


def rc_cases():
    data = {"data": [{"paragraphs": [{"context": "ctx", "qas": []}]}]}
    qas = data["data"][0]["paragraphs"][0]["qas"]
    preds, per = {}, []
    for i, (answers, pred) in enumerate(RC_QA):
        qid = "q%d" % i
        qas.append({"id": qid, "question": "?", "answers": [{"text": a} for a in answers]})
        preds[qid] = pred
        per.append({"answers": answers, "pred": pred,
                    "cmrc_segments": mixed_segmentation(pred, True),
                    "cmrc_f1": cmrc_f1(answers, pred), "cmrc_em": cmrc_em(answers, pred),
                    "squad_f1": max(squad_f1(pred, a) for a in answers),
                    "squad_em": max(1 if squad_norm(pred) == squad_norm(a) else 0 for a in answers)})
    qas.append({"id": "unanswered", "question": "?", "answers": [{"text": "x"}]})
    n = len(qas)
    f1 = 100.0 * sum(p["cmrc_f1"] for p in per) / n
    em = 100.0 * sum(p["cmrc_em"] for p in per) / n
    cm = {"F1": f1, "EM": em, "AVERAGE": (f1 + em) * 0.5, "TOTAL": n, "SKIP": 1}
    sq = {"exact_match": 100.0 * sum(p["squad_em"] for p in per) / n,
          "f1": 100.0 * sum(p["squad_f1"] for p in per) / n}
    return {"data": data, "predictions": preds, "per_question": per, "cmrc": cm, "squad": sq}


def generate(out_dir):
    rng = random.Random(1234)
    ner, token = ner_cases(rng)
    out = {"classification": classification_cases(rng), "correlation": correlation_cases(rng),
           "ner": ner, "ner_token": token, "rc": rc_cases()}
    # glue task metrics on one binary case (TinyBERT compute_metrics)
    gold = [rng.randrange(2) for _ in range(30)]
    pred = [g if rng.random() < 0.7 else 1 - g for g in gold]
    acc, f1 = skm.accuracy_score(gold, pred), skm.f1_score(gold, pred)
    x = [rng.uniform(0, 5) for _ in range(30)]
    y = [v + rng.gauss(0, 1) for v in x]
    p, s = stats.pearsonr(x, y)[0], stats.spearmanr(x, y)[0]
    out["glue"] = {"pred": pred, "gold": gold, "x": x, "y": y,
                   "mrpc": {"acc": acc, "f1": f1, "acc_and_f1": (acc + f1) / 2},
                   "cola": {"mcc": skm.matthews_corrcoef(gold, pred)},
                   "sst-2": {"acc": acc},
                   "sts-b": {"pearson": p, "spearman": s, "corr": (p + s) / 2}}
    with open(os.path.join(out_dir, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=None, default=float)
