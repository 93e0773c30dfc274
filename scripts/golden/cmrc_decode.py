"""CMRC 2018 answer decoding reference (tests/lua/test_cmrc.lua).

A re-implementation, written for retort, of NEZHA-TensorFlow/run_squad.py's
prediction path as described in its source: customize_tokenizer document tokens
(CJK, punctuation, control characters single; whitespace separates), WordPiece
per document token, sliding windows (max_tokens_for_doc = max_seq_length -
len(query) - 3, start += min(length, doc_stride)), _check_is_max_context
(min(left, right) + 0.01 * length), then write_predictions: _get_best_indexes
(n_best per start and end), the validity filters, sort by start + end score,
get_final_text through the BasicTokenizer, spaces removed, duplicates dropped,
_compute_softmax probabilities, the first non-empty text as the prediction.
Logits are fixed (seeded) log-softmaxes over the masked positions.
Writes cmrc_decode/cases.json."""
import json
import math
import os
import random
import sys
import unicodedata

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import ref_tokenizer as rt  # noqa: E402


def customize_tokenizer(text):
    out, cur = [], ""
    for ch in text:
        if rt.is_cjk(ord(ch)) or rt.is_punc(ch) or rt.is_ctrl(ch) or rt.is_space(ch):
            if cur:
                out.append(cur)
                cur = ""
            if not rt.is_space(ch):
                out.append(ch)
        else:
            cur += ch
    if cur:
        out.append(cur)
    return out


class Tok:
    def __init__(self, vocab, lower):
        self.vocab = {t: i for i, t in enumerate(vocab)}
        self.basic = rt.Basic(lower, never_split=())
        self.wp = rt.WordPiece(self.vocab)
        self.lower = lower

    def tokenize(self, text):
        return [p for w in self.basic.tokenize(text) for p in self.wp.tokenize(w)]


def check_is_max_context(spans, cur, pos):
    best, best_i = None, None
    for i, (start, length) in enumerate(spans):
        end = start + length - 1
        if pos < start or pos > end:
            continue
        score = min(pos - start, end - pos) + 0.01 * length
        if best is None or score > best:
            best, best_i = score, i
    return cur == best_i


def features(examples, tok, max_len, stride, max_q):
    feats, uid = [], 1000000000
    for ei, ex in enumerate(examples):
        q = tok.tokenize(ex["question"])[:max_q]
        tok_to_orig, all_doc = [], []
        for i, t in enumerate(ex["doc_tokens"]):
            for p in tok.tokenize(t):
                tok_to_orig.append(i)
                all_doc.append(p)
        room = max_len - len(q) - 3
        spans, start = [], 0
        while start < len(all_doc):
            length = min(len(all_doc) - start, room)
            spans.append((start, length))
            if start + length == len(all_doc):
                break
            start += min(length, stride)
        for si, (s0, ln) in enumerate(spans):
            tokens = ["[CLS]"] + q + ["[SEP]"]
            t2o, maxc = {}, {}
            for i in range(ln):
                k = s0 + i
                t2o[len(tokens)] = tok_to_orig[k]
                maxc[len(tokens)] = check_is_max_context(spans, si, k)
                tokens.append(all_doc[k])
            tokens.append("[SEP]")
            mask = [1] + [0] * (len(q) + 1) + [1] * ln + [0]
            feats.append({"unique_id": uid, "example_index": ei, "tokens": tokens, "token_to_orig_map": t2o,
                          "token_is_max_context": maxc, "span_mask": mask})
            uid += 1
    return feats


def get_best_indexes(logits, n):
    idx = sorted(enumerate(logits), key=lambda x: x[1], reverse=True)
    return [i for i, _ in idx[:n]]


def get_final_text(pred_text, orig_text, lower):
    def strip_spaces(text):
        ns, m = [], {}
        for i, c in enumerate(text):
            if c == " ":
                continue
            m[len(ns)] = i
            ns.append(c)
        return "".join(ns), m

    tok_text = " ".join(rt.Basic(lower, never_split=()).tokenize(orig_text))
    sp = tok_text.find(pred_text)
    if sp == -1:
        return orig_text
    ep = sp + len(pred_text) - 1
    ons, omap = strip_spaces(orig_text)
    tns, tmap = strip_spaces(tok_text)
    if len(ons) != len(tns):
        return orig_text
    t_s2ns = {v: k for k, v in tmap.items()}
    if sp not in t_s2ns or t_s2ns[sp] not in omap:
        return orig_text
    os_ = omap[t_s2ns[sp]]
    if ep not in t_s2ns or t_s2ns[ep] not in omap:
        return orig_text
    oe = omap[t_s2ns[ep]]
    return orig_text[os_:oe + 1]


def compute_softmax(scores):
    mx = max(scores)
    ex = [math.exp(s - mx) for s in scores]
    tot = sum(ex)
    return [x / tot for x in ex]


def write_predictions(examples, feats, results, n_best, max_ans, lower):
    by_ex = {}
    for f in feats:
        by_ex.setdefault(f["example_index"], []).append(f)
    preds, nbest_all = {}, {}
    for ei, ex in enumerate(examples):
        fs = by_ex.get(ei, [])
        prelim = []
        for fi, f in enumerate(fs):
            r = results[f["unique_id"]]
            for s in get_best_indexes(r["start_logits"], n_best):
                for e in get_best_indexes(r["end_logits"], n_best):
                    if s >= len(f["tokens"]) or e >= len(f["tokens"]):
                        continue
                    if s not in f["token_to_orig_map"] or e not in f["token_to_orig_map"]:
                        continue
                    if not f["token_is_max_context"].get(s, False):
                        continue
                    if e < s or e - s + 1 > max_ans:
                        continue
                    prelim.append((fi, s, e, r["start_logits"][s], r["end_logits"][e]))
        prelim = sorted(prelim, key=lambda x: x[3] + x[4], reverse=True)
        seen, nbest = {}, []
        for fi, s, e, sl, el in prelim:
            if len(nbest) >= n_best:
                break
            f = fs[fi]
            if s > 0:
                tok_text = " ".join(f["tokens"][s:e + 1]).replace(" ##", "").replace("##", "")
                tok_text = " ".join(tok_text.strip().split())
                od, oe = f["token_to_orig_map"][s], f["token_to_orig_map"][e]
                orig_text = " ".join(ex["doc_tokens"][od:oe + 1])
                final = get_final_text(tok_text, orig_text, lower).replace(" ", "")
                if final in seen:
                    continue
                seen[final] = True
            else:
                final = ""
                seen[final] = True
            nbest.append({"text": final, "start_logit": sl, "end_logit": el})
        if not nbest:
            nbest.append({"text": "empty", "start_logit": 0.0, "end_logit": 0.0})
        probs = compute_softmax([x["start_logit"] + x["end_logit"] for x in nbest])
        best = None
        for x, p in zip(nbest, probs):
            x["probability"] = p
            if best is None and x["text"]:
                best = x["text"]
        preds[ex["qas_id"]] = best if best is not None else ""
        nbest_all[ex["qas_id"]] = nbest
    return preds, nbest_all


CONTEXTS = [
    ("1990年，王小明在北京大学读书。他后来去了iPhone公司工作，年薪20万元。", ["王小明在哪里读书？", "他的年薪是多少？"]),
    ("NBA总决赛MVP是Stephen Curry，他来自Golden State Warriors。比赛在2015年6月举行，观众约1.9万人。",
     ["谁是MVP？", "比赛在什么时候举行？", "观众有多少？"]),
    ("长江是中国最长的河流，全长约6300公里，流经青海、西藏、四川、云南、重庆、湖北、湖南、江西、安徽、江苏和上海。"
     "黄河是第二长的河流，全长约5464公里，被称为中华民族的母亲河。" * 2, ["长江全长多少公里？", "黄河被称为什么？"]),
    ("《红楼梦》的作者是清代的曹雪芹（约1715年—1763年），原名“石头记”。", ["红楼梦的作者是谁？"]),
]


def build_vocab():
    v = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    seen = set(v)
    words = ["ip", "##hone", "nba", "mvp", "stephen", "cur", "##ry", "golden", "state", "war", "##riors",
             "20", "19", "##90", "##15", "63", "##00", "54", "##64", "17", "##63", "1", ".", "9", "##9", "6"]
    for c in "".join(c for c, _ in CONTEXTS) + "".join(q for _, qs in CONTEXTS for q in qs):
        if rt.is_cjk(ord(c)) or rt.is_punc(c):
            if c not in seen:
                seen.add(c)
                v.append(c)
    for w in words:
        if w not in seen:
            seen.add(w)
            v.append(w)
    return v


def make_case(name, rng, lower, max_len, stride, max_q, n_best, max_ans, ties=False):
    vocab = build_vocab()
    tok = Tok(vocab, lower)
    qas, examples = [], []
    for ci, (ctx, qs) in enumerate(CONTEXTS):
        for qi, q in enumerate(qs):
            qid = "c%d_q%d" % (ci, qi)
            qas.append({"id": qid, "question": q, "context": ctx})
            examples.append({"qas_id": qid, "question": q, "doc_tokens": customize_tokenizer(ctx)})
    feats = features(examples, tok, max_len, stride, max_q)
    results = {}
    for f in feats:
        L = len(f["tokens"])
        if ties:  # a handful of integer values: equal scores everywhere (stable orders decide)
            s = [float(rng.randrange(-2, 3)) for _ in range(L)]
            e = [float(rng.randrange(-2, 3)) for _ in range(L)]
        else:
            s = [rng.gauss(0, 2) for _ in range(L)]
            e = [rng.gauss(0, 2) for _ in range(L)]
        # a few planted spans so that long answers and ties of windows occur
        if rng.random() < 0.7:
            docpos = [k for k in f["token_to_orig_map"]]
            a = rng.choice(docpos)
            b = min(a + rng.randrange(0, 12), max(docpos))
            s[a] += 6
            e[b] += 6
        ls, le = [], []
        for v, out in ((s, ls), (e, le)):
            w = [x + (0 if m else -10000.0) for x, m in zip(v, f["span_mask"])]
            mx = max(w)
            lz = mx + math.log(sum(math.exp(x - mx) for x in w))
            out.extend(round(x - lz, 4) for x in w)   # rounded: a smaller fixture, the same values on both sides
        results[f["unique_id"]] = {"start_logits": ls, "end_logits": le}
    preds, nbest = write_predictions(examples, feats, results, n_best, max_ans, lower)
    return {"name": name, "vocab": vocab, "lower": lower, "max_len": max_len, "doc_stride": stride,
            "max_query": max_q, "n_best": n_best, "max_answer_length": max_ans, "qas": qas,
            "doc_tokens": [ex["doc_tokens"] for ex in examples],
            "features": [{"unique_id": f["unique_id"], "example_index": f["example_index"] + 1,
                          "tokens": f["tokens"],
                          "token_to_orig": {str(k): v + 1 for k, v in f["token_to_orig_map"].items()},
                          "max_context": {str(k): v for k, v in f["token_is_max_context"].items()}}
                         for f in feats],
            "results": {str(k): v for k, v in results.items()}, "predictions": preds, "nbest": nbest}


def generate(out_dir):
    rng = random.Random(2018)
    cases = [make_case("defaults_lower", rng, True, 64, 16, 64, 20, 30),
             make_case("small_cased", rng, False, 40, 8, 10, 5, 8),
             make_case("long_window", rng, True, 512, 128, 64, 20, 30),
             make_case("ties", rng, True, 48, 12, 64, 20, 30, ties=True)]
    with open(os.path.join(out_dir, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=False)


if __name__ == "__main__":
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "tests",
                                                           "golden", "cmrc_decode")
    os.makedirs(d, exist_ok=True)
    generate(d)
