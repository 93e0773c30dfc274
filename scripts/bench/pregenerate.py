#!/usr/bin/python3
"""Peer of scripts/bench/pregenerate.lua: the plain-Python re-implementation of
TinyBERT's pregenerate_training_data.py (scripts/golden/pregenerate.py, with the
reference tokenizer) on the same corpus and vocabulary, one epoch.
  /usr/bin/python3 scripts/bench/pregenerate.py --threads 2 [--mb 20]
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--threads", type=int, default=2)   # pure Python: one core
ap.add_argument("--mb", type=float, default=20)
a = ap.parse_args()
d = "build/bench"
corpus = os.path.join(d, "fortunes_%gmb.txt" % a.mb)
vocab = os.path.join(d, "pregen_vocab.txt")
if not os.path.exists(corpus) or not os.path.exists(vocab):
    print("bench pregenerate impl=python skipped=run scripts/bench/pregenerate.lua first (it writes %s and %s)"
          % (corpus, vocab))
    sys.exit(0)
stats = os.path.join(d, "pregen_python_stats.json")
subprocess.check_call([sys.executable, os.path.join(HERE, "..", "golden", "pregenerate.py"), "--train_corpus", corpus,
                       "--bert_model", vocab, "--output_dir", os.path.join(d, "pregen_python"), "--do_lower_case",
                       "--epochs_to_generate", "1", "--seed", "42", "--stats", stats], stdout=subprocess.DEVNULL)
s = json.load(open(stats))
e = s["epochs"][0]
print("bench pregenerate impl=python mb=%.1f threads=1 epochs=1 s=%.2f mb_per_s=%.3f instances=%d random_next=%.4f "
      "masked_per_instance=%.3f" % (s["mb"], s["seconds"], s["mb"] / s["seconds"], e["instances"],
                                    e["random_next"] / e["instances"], e["masked"] / e["instances"]))
