#!/usr/bin/python3
"""Python peer of scripts/bench/tokenizer.lua: the reference tokenizer
(scripts/ref_tokenizer.py, the upstream algorithm) on the same corpus file.
Prints: bench tokenizer impl=python-ref vocab=... mb=... mb_per_s=... tok_per_s=...
Options: --mb N (default 20; the corpus must exist: run tokenizer.lua first or it is
built the same way), --corpus PATH, --limit-mb M (time only the first M MB, default 5, about one copy of the fortunes text:
the Python reference runs at well under 1 MB/s)."""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import ref_tokenizer  # noqa: E402

FORTUNES = "/usr/share/games/fortunes"


def corpus_path(mb):
    path = os.environ.get("RETORT_BENCH_CORPUS", f"/tmp/retort-tokenizer-corpus-{mb}mb.txt")
    if os.path.exists(path):
        return path
    names = sorted(n for n in os.listdir(FORTUNES) if not n.endswith((".dat", ".u8")))
    one = b"".join(open(os.path.join(FORTUNES, n), "rb").read() for n in names)
    with open(path + ".tmp", "wb") as f:
        size = 0
        while size < mb * 1000000:
            f.write(one)
            size += len(one)
    os.rename(path + ".tmp", path)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=20)
    ap.add_argument("--corpus")
    ap.add_argument("--limit-mb", type=float, default=5.0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    path = a.corpus or corpus_path(a.mb)
    raw = open(path, "rb").read()
    if a.limit_mb > 0:
        raw = raw[: int(a.limit_mb * 1e6)]
        raw = raw[: raw.rfind(b"\n") + 1]
    lines = [l.decode("utf-8", "ignore") for l in raw.split(b"\n")]
    seed = os.environ.get("RETORT_SEED", os.path.join(HERE, "..", "..", "..", "shared", "seed"))
    for name, vocab, lower in (("cn-lower", "nezha-cn-base", True), ("en-cased", "nezha-en-base", False)):
        tok = ref_tokenizer.FullTokenizer(os.path.join(seed, vocab, "vocab.txt"), lower)
        t0 = time.process_time()
        ntok = 0
        for l in lines:
            ntok += len(tok.ids(tok.tokenize(l)))
        dt = time.process_time() - t0
        print(f"bench tokenizer impl=python-ref vocab={name} mb={len(raw) / 1e6:.1f} lines={len(lines)} "
              f"tokens={ntok} s={dt:.2f} mb_per_s={len(raw) / 1e6 / dt:.3f} tok_per_s={ntok / dt:.0f}")


if __name__ == "__main__":
    main()
