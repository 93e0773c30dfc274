#!/usr/bin/env bash
# make parity: regenerate every PyTorch reference into a temporary folder and run
# the golden comparison tests (tests/lua/test_golden_*.lua) against it.
set -euo pipefail
BUILD=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 scripts/make_golden.py --out "$tmp"
rc=0
for t in tests/lua/test_golden_*.lua; do
  [ -f "$t" ] || continue
  RETORT_GOLDEN="$tmp" "$BUILD/retort" tests/lua/run.lua "$t" | tail -n 1 | sed "s|^|$(basename "$t"): |" || rc=1
done
exit $rc
