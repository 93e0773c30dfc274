"""Golden Chinese word segmentation: jieba (python3-jieba, cut with HMM=False) over the
seed ChnSentiCorp dev texts plus mixed cases, with a dictionary made here from
character n-gram counts of the ChnSentiCorp train texts (so the fixture holds no
third-party data). Writes tokenizer_segment/dict.txt ("word freq [tag]") and
cases.tsv: hex(text) \t space-separated hex(words)."""
import collections
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = os.environ.get("RETORT_SEED", os.path.join(HERE, "..", "..", "..", "shared", "seed"))

EXTRA = [
    "我爱北京天安门 abc12 我来到北京大学！", "line\r\nbreak\ttab  two spaces", "C++和C#都是语言，3.14%的人-_-",
    "", "   ", "ＡＢＣ全角字符１２３", "混合English单词and中文", "价格是100元，非常便宜！！！", "a", "中",
]


def texts(name):
    with open(os.path.join(SEED, "chnsenti", name), "rb") as f:
        for line in f.read().decode("utf-8").split("\n"):
            if "\t" in line:
                yield line.split("\t", 1)[1].rstrip("\r")


def generate(out_dir):
    import logging
    import jieba
    jieba.setLogLevel(logging.ERROR)
    counts = collections.Counter()
    for t in texts("train.tsv"):
        for run in re.findall("[\u4e00-\u9fd5]+", t):
            for n in range(1, 5):
                for i in range(len(run) - n + 1):
                    counts[run[i:i + n]] += 1
    entries = sorted((w, c) for w, c in counts.items() if len(w) == 1 or c >= 3)
    dict_path = os.path.join(out_dir, "dict.txt")
    with open(dict_path, "w", encoding="utf-8") as f:
        for i, (w, c) in enumerate(entries):
            tag = " n" if i % 3 == 0 else ""
            f.write(f"{w} {c * 10 + len(w)}{tag}\n")
    tk = jieba.Tokenizer(dictionary=dict_path)
    rows = []
    for t in list(texts("dev.tsv")) + EXTRA:
        words = list(tk.cut(t, HMM=False))
        rows.append(t.encode("utf-8").hex() + "\t" + " ".join(w.encode("utf-8").hex() for w in words))
    with open(os.path.join(out_dir, "cases.tsv"), "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
