#!/usr/bin/env bash
# The ratio table: retort's model rows (scripts/bench/models.lua: m:infer in fp32 /
# bf16 / int8, the training step in fp32 / bf16) against the peers on the same
# machine, one after the other: PyPI PyTorch fp32 and bf16 autocast
# (scripts/bench/models.py through scripts/bench/torch-peer.sh's venv) and ONNX
# Runtime fp32 and int8 on the same models exported (scripts/bench/models_ort.py).
# Prints every raw `bench model_...` line, then per row
#   bench ratio row=<model>_<mode>_<prec> retort_ms=... best_peer=<impl> peer_ms=... ratio=...
#         retort_rss_mb=... peer_rss_mb=...
# with ratio = peer_ms / retort_ms (> 1: retort is faster) against the fastest peer
# of the same precision (int8 rows: ONNX Runtime int8), and `bench ratio_missing`
# lines for the rows no peer measured (and why).
#   THREADS=2 MODELS=bert-base,nezha-base,tinybert4 MODES=infer1,infer32,train SEQ=128 \
#     bash scripts/bench/ratio.sh
#   quick check: THREADS=1 MODELS=tiny SEQ=32 bash scripts/bench/ratio.sh
# PEER_VENV=dir picks the venv torch-peer.sh sets up; PEER_PY=python overrides the peer interpreter (default: torch-peer.sh's venv, else
# Debian's /usr/bin/python3 with its PyTorch 1.13, marked impl=pytorch-debian).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
T=${THREADS:-2}
MODELS=${MODELS:-bert-base,nezha-base,tinybert4}
MODES=${MODES:-infer1,infer32,train}
SEQ=${SEQ:-128}
OUT=$(mktemp)
trap 'rm -f "$OUT"' EXIT
export OMP_NUM_THREADS=$T OPENBLAS_NUM_THREADS=$T

PY=${PEER_PY:-}
TORCH_IMPL=pytorch
if [ -z "$PY" ]; then
  PY=$(bash scripts/bench/torch-peer.sh ${PEER_VENV:-} 2>/dev/null) || PY=
  if [ -z "$PY" ]; then
    echo "# ratio.sh: PyPI PyTorch peer not available (scripts/bench/torch-peer.sh failed); using /usr/bin/python3" >&2
    PY=/usr/bin/python3
    TORCH_IMPL=pytorch-debian
  fi
fi

"$BUILD/retort" scripts/bench/models.lua --threads "$T" --models "$MODELS" --modes "$MODES" \
  --precs fp32,bf16,int8 --seq "$SEQ" | tee -a "$OUT"
OMP_WAIT_POLICY=PASSIVE MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=68719476736 MALLOC_TOP_PAD_=1073741824 \
  "$PY" scripts/bench/models.py --threads "$T" --models "$MODELS" --modes "$MODES" --precs fp32,bf16 \
  --seq "$SEQ" | sed "s/impl=pytorch /impl=$TORCH_IMPL /" | tee -a "$OUT"
IMODES=$(echo "$MODES" | tr ',' '\n' | grep -v '^train$' | paste -sd, -)
if [ -n "$IMODES" ]; then
  OMP_WAIT_POLICY=PASSIVE "$PY" scripts/bench/models_ort.py --threads "$T" --models "$MODELS" --modes "$IMODES" \
    --precs fp32,int8 --seq "$SEQ" | tee -a "$OUT"
fi

awk '
function kv(line, key,   n, i, a, p) {
  n = split(line, a, " ")
  for (i = 1; i <= n; i++) { split(a[i], p, "="); if (p[1] == key) return p[2] }
  return ""
}
/^bench model_/ {
  mode = $2; sub(/^model_/, "", mode)
  impl = kv($0, "impl"); model = kv($0, "model"); prec = kv($0, "prec"); if (prec == "") prec = "fp32"
  row = model "_" mode "_" prec
  ms = kv($0, "ms") + 0; rss = kv($0, "peak_rss_mb")
  if (impl == "retort") { r_ms[row] = ms; r_rss[row] = rss; rows[++nrows] = row; why[row] = impl }
  else if (!(row in p_ms) || ms < p_ms[row]) { p_ms[row] = ms; p_impl[row] = impl; p_rss[row] = rss }
}
END {
  for (i = 1; i <= nrows; i++) {
    row = rows[i]
    if (row in p_ms && r_ms[row] > 0)
      printf "bench ratio row=%s retort_ms=%.1f best_peer=%s peer_ms=%.1f ratio=%.2f retort_rss_mb=%s peer_rss_mb=%s\n",
        row, r_ms[row], p_impl[row], p_ms[row], p_ms[row] / r_ms[row], r_rss[row], p_rss[row]
    else
      printf "bench ratio_missing row=%s retort_ms=%.1f reason=no_peer_line_of_this_precision\n", row, r_ms[row]
  }
}' "$OUT"
