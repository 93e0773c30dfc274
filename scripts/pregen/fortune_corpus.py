#!/usr/bin/env python3
"""Build a pregeneration corpus from Debian's fortunes: one fortune = one document,
its lines = sentences, documents separated by a blank line; the collections are
repeated until the corpus has at least --mb megabytes.

    python3 scripts/pregen/fortune_corpus.py --out build/fortunes.txt --mb 20
"""
import argparse, glob, os

ap = argparse.ArgumentParser()
ap.add_argument("--dir", default="/usr/share/games/fortunes")
ap.add_argument("--out", required=True)
ap.add_argument("--mb", type=float, default=20)
a = ap.parse_args()
docs = []
for p in sorted(glob.glob(os.path.join(a.dir, "*"))):
    if p.endswith((".dat", ".u8")) or os.path.islink(p) or not os.path.isfile(p):
        continue
    text = open(p, "rb").read().decode("utf-8", "replace")
    for entry in text.split("\n%\n"):
        lines = [l.strip() for l in entry.split("\n") if l.strip() and l.strip() != "%"]
        if lines:
            docs.append("\n".join(lines))
if len(docs) < 2:
    raise SystemExit("fortune_corpus: fewer than 2 fortunes under %s" % a.dir)
body = "\n\n".join(docs) + "\n\n"
want = int(a.mb * 1e6)
reps = max(1, -(-want // len(body.encode())))
with open(a.out + ".tmp", "w") as f:
    for _ in range(reps):
        f.write(body)
os.replace(a.out + ".tmp", a.out)
print("fortune_corpus: %d fortunes x %d = %.1f MB -> %s" % (len(docs), reps, reps * len(body.encode()) / 1e6, a.out))
