"""CMRC 2018 evaluation reference (tests/lua/test_cmrc.lua).

The rules of ymcui/cmrc2018's cmrc2018_evaluate.py, re-implemented for retort:
mixed_segmentation (lower, strip; drop the special punctuation; every character
in U+4E00..U+9FA5 a segment; other runs through nltk.word_tokenize),
remove_punctuation, find_lcs (longest common contiguous run), F1 / EM as max over
the references, totals over all questions (unanswered count 0, SKIP).

nltk.word_tokenize needs the Punkt model for its sentence split; where it is not
installed (Debian's python3-nltk ships none) the sentence split is skipped
(word_tokenize(..., preserve_line=True): NLTKWordTokenizer on the whole run),
which is what retort implements. The fixture records which one ran.

Predictions are generated: mixed Chinese / English / digits, ASCII and CJK
punctuation, several references, empty and whitespace predictions, unanswered
questions; plus a word_tokenize fuzz over ASCII text. Writes cmrc_metric/cases.json."""
import json
import os
import random
import re
import sys

try:
    import nltk
    from nltk.tokenize import word_tokenize as _nltk_wt
except ImportError:  # pragma: no cover
    nltk = None

PUNKT = False
if nltk is not None:
    try:
        nltk.data.find("tokenizers/punkt")
        PUNKT = True
    except LookupError:
        PUNKT = False


def word_tokenize(text):
    return _nltk_wt(text) if PUNKT else _nltk_wt(text, preserve_line=True)


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
    mmax, p = 0, 0
    for i in range(len(s1)):
        for j in range(len(s2)):
            if s1[i] == s2[j]:
                m[i + 1][j + 1] = m[i][j] + 1
                if m[i + 1][j + 1] > mmax:
                    mmax = m[i + 1][j + 1]
                    p = i + 1
    return s1[p - mmax:p], mmax


def calc_f1_score(answers, prediction):
    f1_scores = []
    for ans in answers:
        ans_segs = mixed_segmentation(ans, rm_punc=True)
        prediction_segs = mixed_segmentation(prediction, rm_punc=True)
        lcs, lcs_len = find_lcs(ans_segs, prediction_segs)
        if lcs_len == 0:
            f1_scores.append(0)
            continue
        precision = 1.0 * lcs_len / len(prediction_segs)
        recall = 1.0 * lcs_len / len(ans_segs)
        f1_scores.append((2 * precision * recall) / (precision + recall))
    return max(f1_scores)


def calc_em_score(answers, prediction):
    for ans in answers:
        if remove_punctuation(ans) == remove_punctuation(prediction):
            return 1
    return 0


def evaluate(ground_truth_file, prediction_file):
    f1 = em = total_count = skip_count = 0
    for instance in ground_truth_file["data"]:
        for para in instance["paragraphs"]:
            for qas in para["qas"]:
                total_count += 1
                query_id = qas["id"].strip()
                answers = [x["text"] for x in qas["answers"]]
                if query_id not in prediction_file:
                    skip_count += 1
                    continue
                prediction = str(prediction_file[query_id])
                f1 += calc_f1_score(answers, prediction)
                em += calc_em_score(answers, prediction)
    return 100.0 * f1 / total_count, 100.0 * em / total_count, total_count, skip_count


ZH = list("北京大学清华中国人民银行长江黄河的了是在年月日红楼梦作者曹雪芹")
EN = ["the", "beatles", "Apple", "Inc", "NBA", "MVP", "iPhone", "New", "York", "U.S", "don't", "cannot", "O'Neil",
      "it's", "gonna", "we'll", "Dr", "Mr", "A", "x"]
NUM = ["1990", "2,000", "3.14", "10:30", "1.9", "6300", "20", "007", "1st", "$5", "50%", "#1", "v2.0"]
PUN = [",", ".", "!", "?", "\"", "'", "(", ")", "[", "]", ";", "&", "@", "...", "--", "，", "。", "《", "》", "、",
       "“", "”", "：", "（", "）", "·", "—", "«", "»", "‘", "’", "-", "/", ":", "*", "…"]


def rand_text(rng, n):
    parts = []
    for _ in range(n):
        r = rng.random()
        if r < 0.35:
            parts.append("".join(rng.choice(ZH) for _ in range(rng.randrange(1, 4))))
        elif r < 0.6:
            parts.append(rng.choice(EN))
        elif r < 0.75:
            parts.append(rng.choice(NUM))
        else:
            parts.append(rng.choice(PUN))
        parts.append(rng.choice(["", "", " ", " "]))
    return "".join(parts)


def perturb(rng, s):
    r = rng.random()
    if r < 0.25:
        return s
    if r < 0.4:
        return s.upper() if rng.random() < 0.5 else " " + s + " "
    if r < 0.6 and len(s) > 1:
        a = rng.randrange(len(s))
        b = rng.randrange(a, len(s) + 1)
        return s[a:b]
    if r < 0.8:
        return s + rng.choice(["。", ".", "!", "的", " ok", "）"])
    return rand_text(rng, rng.randrange(0, 4))


FIXED = [
    (["1990年"], "1990年"), (["北京大学"], "北京"), (["《红楼梦》"], "红楼梦"), (["曹雪芹", "清代曹雪芹"], "清代的曹雪芹"),
    (["The Beatles"], "the beatles!"), (["Apple Inc."], "apple inc"), (["2,000 people"], "2000 people"),
    (["NBA总决赛MVP"], "NBA MVP"), (["iPhone 6s"], "iphone6s"), (["\"Hello,\" he said"], "hello he said"),
    (["don't stop"], "do n't stop"), (["cannot"], "can not"), (["(a) test"], "a test"), (["约10:30"], "10：30"),
    ([""], ""), (["非空答案"], ""), (["3.14"], "3.14."), (["the end..."], "end"), (["O'Neil's book"], "o'neil 's book"),
    (["a--b"], "a -- b"), (["  空格  "], "空格"), (["U.S. Army. The end."], "u.s. army"), (["«quoted»"], "quoted"),
    (["‘single’"], "single"), (["50%"], "50 %"), (["$5"], "5"), (["Mr. Smith"], "mr smith"), (["abc"], "   "),
    (["第1名", "第一名"], "第1"), (["wanna go"], "wan na go"), (["it's"], "it ’s"),
]


COMMITTED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "golden", "cmrc_metric")


def generate(out_dir):
    if nltk is None:  # make parity without NLTK: compare against the committed fixture
        print("cmrc_metric: NLTK not installed (apt-get install python3-nltk); keeping the committed fixture")
        src = os.path.join(COMMITTED, "cases.json")
        if os.path.abspath(src) != os.path.abspath(os.path.join(out_dir, "cases.json")):
            with open(src, "rb") as f, open(os.path.join(out_dir, "cases.json"), "wb") as g:
                g.write(f.read())
        return
    rng = random.Random(2018)
    qa = list(FIXED)
    for _ in range(220):
        refs = [rand_text(rng, rng.randrange(1, 6)) for _ in range(rng.randrange(1, 4))]
        pred = perturb(rng, rng.choice(refs))
        qa.append((refs, pred))
    data = {"data": [{"paragraphs": [{"context": "ctx", "qas": []}]}]}
    qas = data["data"][0]["paragraphs"][0]["qas"]
    preds, per = {}, []
    for i, (answers, pred) in enumerate(qa):
        qid = "Q%03d" % i
        qas.append({"id": qid, "question": "?", "answers": [{"text": a} for a in answers]})
        preds[qid] = pred
        per.append({"id": qid, "answers": answers, "pred": pred, "segments": mixed_segmentation(pred, True),
                    "f1": calc_f1_score(answers, pred), "em": calc_em_score(answers, pred)})
    for k in range(3):
        qas.append({"id": "UNANSWERED_%d" % k, "question": "?", "answers": [{"text": "x"}]})
    f1, em, total, skip = evaluate(data, preds)
    line = json.dumps({"AVERAGE": "%.3f" % ((em + f1) * 0.5), "F1": "%.3f" % f1, "EM": "%.3f" % em,
                       "TOTAL": total, "SKIP": skip, "FILE": "predictions.json"}, ensure_ascii=False)
    alphabet = "abcxyz019 .,;:!?'\"()[]{}<>-$%&@#*`"
    fuzz = []
    for _ in range(400):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 24)))
        fuzz.append({"text": s, "tokens": word_tokenize(s)})
    out = {"nltk": nltk.__version__, "punkt": PUNKT, "data": data, "predictions": preds, "per_question": per,
           "F1": f1, "EM": em, "TOTAL": total, "SKIP": skip, "line": line, "word_tokenize": fuzz}
    with open(os.path.join(out_dir, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False)


if __name__ == "__main__":
    if nltk is None:
        sys.exit("cmrc_metric.py needs NLTK (Debian python3-nltk)")
    d = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "tests",
                                                           "golden", "cmrc_metric")
    os.makedirs(d, exist_ok=True)
    generate(d)
