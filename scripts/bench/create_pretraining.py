#!/usr/bin/python3
"""PyTorch-free peer of scripts/bench/create_pretraining.lua: the faithful CPython
re-implementation of create_pretraining_data (scripts/golden/create_pretraining_data.py,
random.Random, the same instances as retort's --rng python) on the same corpus
(written by the .lua bench into build/bench_create_pretraining/corpus.txt).

  /usr/bin/python3 scripts/bench/create_pretraining.py [--dupe_factor 5] [--threads N]
prints  bench create_pretraining impl=python mb= seconds= cpu_seconds= mb_s= mb_s_cpu= instances=
"""
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "golden"))
import create_pretraining_data as cpd  # noqa: E402
from ref_tokenizer import FullTokenizer  # noqa: E402


def main():
    args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
    dupe = int(args.get("--dupe_factor", "5"))
    out = args.get("--out", "build/bench_create_pretraining")
    corpus = os.path.join(out, "corpus.txt")
    seed = os.environ.get("RETORT_SEED", os.path.join(HERE, "..", "..", "..", "shared", "seed"))
    vocab = os.path.join(seed, "nezha-en-base", "vocab.txt")
    if not os.path.exists(corpus) or not os.path.exists(vocab):
        print("bench create_pretraining impl=python skipped=run_the_lua_bench_first")
        return
    tok = FullTokenizer(vocab, False)
    t0, c0 = time.time(), time.process_time()
    inst = cpd.create_training_instances([corpus], tok, 128, dupe, 0.1, 0.15, 20, random.Random(12345), False)
    cpd.write(inst, tok, 128, 20, [os.path.join(out, "out_py.tfrecord")])
    dt, dc = time.time() - t0, time.process_time() - c0
    mb = os.path.getsize(corpus) / 1e6
    print("bench create_pretraining impl=python rng=python dupe_factor=%d mb=%.3f seconds=%.3f cpu_seconds=%.3f "
          "mb_s=%.3f mb_s_cpu=%.3f instances=%d" % (dupe, mb, dt, dc, mb / dt, mb / dc, len(inst)))


if __name__ == "__main__":
    main()
