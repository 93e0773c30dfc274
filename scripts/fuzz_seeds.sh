#!/usr/bin/env bash
# Seeds for the fuzz targets that have no committed corpus, made from the
# repository's own fixtures: fuzz_seeds.sh OUTDIR -> OUTDIR/<target>/...
set -euo pipefail
o=${1:?usage: fuzz_seeds.sh OUTDIR}
mkdir -p "$o/config" "$o/notebook" "$o/pregen" "$o/tfdata" "$o/pickle" "$o/zip"
for c in tests/golden/models/*/config.json; do
  [ -f "$c" ] && cp "$c" "$o/config/$(basename "$(dirname "$c")").json"
done
printf '{"vocab_size": 30, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 16, "num_labels": 3, "id2label": {"0": "a", "1": "b", "2": "c"}}' >"$o/config/tiny.json"
for nb in notebooks/*.ipynb; do [ -f "$nb" ] && cp "$nb" "$o/notebook/"; done
printf '{"cells": [{"cell_type": "markdown", "id": "m", "metadata": {"n": 12345678901234567891}, "source": ["a\\u0000b\\n", "c"]}, {"cell_type": "code", "execution_count": 3, "id": "c", "metadata": {}, "outputs": [{"name": "stdout", "output_type": "stream", "text": ["1\\n"]}], "source": "print(1)"}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}' >"$o/notebook/literals.ipynb"
printf '{"tokens": ["[CLS]", "a", "[MASK]", "[SEP]", "b", "[SEP]"], "segment_ids": [0, 0, 0, 0, 1, 1], "is_random_next": false, "masked_lm_positions": [2], "masked_lm_labels": ["c"]}' >"$o/pregen/line.json"
# tfdata: 2-byte index length, flags, index, data shard (see tests/fuzz/fuzz_tfdata.c)
for p in tests/golden/tfckpt/many.ckpt tests/golden/tfckpt/model.ckpt; do
  idx="$p.index"
  data=$(ls "$p".data-00000-of-* 2>/dev/null | head -1)
  [ -f "$idx" ] && [ -n "$data" ] || continue
  for flag in 0 1; do
    /usr/bin/python3 - "$idx" "$data" "$o/tfdata/$(basename "$p")-$flag" "$flag" <<'PY'
import struct, sys
idx = open(sys.argv[1], "rb").read(); data = open(sys.argv[2], "rb").read()
open(sys.argv[3], "wb").write(struct.pack("<HB", len(idx), int(sys.argv[4])) + idx + data)
PY
  done
done
# torch.save files from the weights fixtures: the pickle target gets their data.pkl
for b in tests/golden/weights_io/*.bin; do
  [ -f "$b" ] || continue
  cp "$b" "$o/zip/"
  /usr/bin/python3 - "$b" "$o/pickle/$(basename "$b" .bin).pkl" 2>/dev/null <<'PY' || true
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for n in z.namelist():
    if n.endswith("/data.pkl"):
        open(sys.argv[2], "wb").write(z.read(n)); break
PY
done
