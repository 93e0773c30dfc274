#!/usr/bin/python3
"""Writes the PyTorch reference fixtures under tests/golden/ (or --out DIR).

Run with Debian's python3-torch: /usr/bin/python3 scripts/make_golden.py [--out DIR] [--only NAME,...]
Each module scripts/golden/<name>.py defines generate(out_dir) and writes
<out_dir>/<name>/... ; `make parity` regenerates into a temporary folder and
runs the comparison tests against it."""
import argparse
import importlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "golden"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(HERE, "..", "tests", "golden"))
    ap.add_argument("--only", default="")
    a = ap.parse_args()
    import torch
    torch.set_num_threads(1)
    names = sorted(f[:-3] for f in os.listdir(os.path.join(HERE, "golden"))
                   if f.endswith(".py") and f != "common.py" and not f.startswith("_"))
    if a.only:
        names = [n for n in names if n in a.only.split(",")]
    for n in names:
        mod = importlib.import_module(n)
        out = os.path.join(a.out, n)
        os.makedirs(out, exist_ok=True)
        mod.generate(out)
        print(f"golden: wrote {n}")


if __name__ == "__main__":
    main()
