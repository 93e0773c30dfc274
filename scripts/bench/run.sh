#!/usr/bin/env bash
# make bench: every retort benchmark (scripts/bench/*.lua) then every PyTorch peer
# (scripts/bench/*.py, with the environment set here), one `bench ...` line each; the
# model rows (models.lua / models.py / models_ort.py) run last through ratio.sh, which
# adds PyPI PyTorch (fp32, bf16 autocast) and ONNX Runtime and prints the ratio table.
set -u
BUILD=${BUILD:-build}
T=${THREADS:-2}
for b in scripts/bench/*.lua; do
  [ -f "$b" ] || continue
  case "$b" in */models.lua) continue ;; esac
  OMP_NUM_THREADS=$T "$BUILD/retort" "$b" --threads "$T"
done
for b in scripts/bench/*.py; do
  [ -f "$b" ] || continue
  case "$b" in */models.py|*/models_ort.py) continue ;; esac
  OMP_NUM_THREADS=$T OPENBLAS_NUM_THREADS=$T OMP_WAIT_POLICY=PASSIVE MALLOC_MMAP_MAX_=0 \
  MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=1073741824 \
    /usr/bin/python3 "$b" --threads "$T"
done
THREADS=$T BUILD=$BUILD bash scripts/bench/ratio.sh
