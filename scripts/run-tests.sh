#!/usr/bin/env bash
# Runs the whole suite against $BUILD (build/ or build-asan/): cmocka unit tests,
# Lua tests (gradient checks, golden parity, API, CLI), the notebooks, then the Jupyter kernel.
# Prints each runner's summary and a final "suites: N passed, N failed" line, with
# ", N skipped" appended when tests were skipped (seed data absent: each such test
# says "skipped: seed data not found at <path>").
set -u
BUILD=${BUILD:-build}
RETORT="$BUILD/retort"
export RETORT_BIN="$RETORT" NO_COLOR=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
pass=0; fail=0; failed=(); skipped=0

note() { if [ "$1" -eq 0 ]; then pass=$((pass+1)); else fail=$((fail+1)); failed+=("$2"); fi; }

echo "== unit tests (cmocka)"
for t in "$BUILD"/tests/test_*; do
  [ -x "$t" ] || continue
  out=$("$t" 2>&1); rc=$?
  echo "$out" | grep -E '^\[  (PASSED|FAILED)  \]|^\[==========\] .* ran|FAILED' | sed "s|^|$(basename "$t"): |"
  [ $rc -ne 0 ] && echo "$out" | tail -30
  note $rc "$(basename "$t")"
done

echo "== Lua tests"
for t in tests/lua/test_*.lua; do
  [ -f "$t" ] || continue
  out=$("$RETORT" tests/lua/run.lua "$t" 2>&1); rc=$?
  last=$(echo "$out" | tail -n 1)
  echo "$last" | sed "s|^|$(basename "$t"): |"
  n=$(echo "$last" | sed -n 's/.*, \([0-9][0-9]*\) skipped$/\1/p')
  [ -n "$n" ] && skipped=$((skipped+n))
  [ $rc -ne 0 ] && echo "$out" | grep -v '^ok ' | tail -40
  note $rc "$(basename "$t")"
done

echo "== notebooks"
for nb in notebooks/*.ipynb; do
  [ -f "$nb" ] || continue
  tmp=$(mktemp -d)
  cp "$nb" "$tmp/"
  out=$("$RETORT" --notebook run "$tmp/$(basename "$nb")" --timeout 600 2>&1); rc=$?
  if [ $rc -eq 0 ]; then   # install-deps.sh installs python3-nbformat: a missing validator fails
    out2=$(/usr/bin/python3 -c 'import nbformat,sys; nbformat.validate(nbformat.read(sys.argv[1], as_version=4))' "$tmp/$(basename "$nb")" 2>&1); rc=$?
    out="$out$out2"
  fi
  echo "$(basename "$nb"): $([ $rc -eq 0 ] && echo ok || echo FAILED)"
  [ $rc -ne 0 ] && echo "$out" | tail -30
  note $rc "$(basename "$nb")"
  rm -rf "$tmp"
done

echo "== Jupyter kernel (jupyter_client + nbclient)"
if [ -f tests/kernel/test_kernel.py ]; then
  out=$(timeout 900 /usr/bin/python3 tests/kernel/test_kernel.py "$RETORT" 2>&1); rc=$?
  echo "$out" | tail -n 1 | sed "s|^|test_kernel.py: |"
  [ $rc -ne 0 ] && echo "$out" | grep -v '^ok ' | tail -40
  note $rc "test_kernel.py"
fi

echo "== summary"
[ $fail -gt 0 ] && echo "failed suites: ${failed[*]}"
if [ $skipped -gt 0 ]; then
  echo "suites: $pass passed, $fail failed, $skipped skipped"
else
  echo "suites: $pass passed, $fail failed"
fi
[ $fail -eq 0 ]
