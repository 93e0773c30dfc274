#!/usr/bin/env bash
# make fuzz: build each tests/fuzz/fuzz_*.c with clang's libFuzzer + ASan + UBSan
# against the library sources and run it for $FUZZ_SECONDS (default 60) seconds
# (under nice, one job). Seeds: tests/fuzz/corpus/<target>/ plus seeds made here
# from the repository's fixtures (scripts/fuzz_seeds.sh). Prints one line per target:
#   fuzz <target> seconds=S execs=N cov=C ft=F crashes=K
# and keeps crash inputs in build-fuzz/crashes-<target>/. Exit status 1 if any crashed.
set -euo pipefail
SECS=${FUZZ_SECONDS:-60}
command -v clang >/dev/null || { apt-get install -y -qq clang >/dev/null; }
out=build-fuzz; mkdir -p "$out"
cflags="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fopenmp -D_GNU_SOURCE -Isrc $(pkg-config --cflags lua5.4 libutf8proc libcjson) -I/usr/include/x86_64-linux-gnu/openblas-openmp"
libs="$(pkg-config --libs lua5.4 readline libutf8proc libcjson) -L/usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp -lm"
srcs=$(ls src/core/*.c src/kernels/*.c src/autograd/*.c src/models/*.c src/text/*.c src/data/*.c src/io/*.c src/optim/*.c 2>/dev/null || true)
srcs="$srcs src/cli/nbjson.c"     # the notebook JSON helpers (no Lua, no terminal)
bash scripts/fuzz_seeds.sh "$out/seeds"
# the library once (instrumented, not linked with the fuzzer main), then each target
libflags=${cflags/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,}
objs=()
: >"$out/todo"
for s in $srcs; do
  o="$out/obj/${s%.c}.o"
  objs+=("$o")
  mkdir -p "$(dirname "$o")"
  if [ ! -f "$o" ] || [ "$s" -nt "$o" ] || [ -n "$(find src -name '*.h' -newer "$o" -print -quit)" ]; then
    echo "$s $o" >>"$out/todo"
  fi
done
xargs -r -P 2 -L 1 sh -c 'nice -n 10 clang -w '"$libflags"' -c "$0" -o "$1"' <"$out/todo"
rm -f "$out/libretort-fuzz.a"
ar rcs "$out/libretort-fuzz.a" "${objs[@]}"
failed=0
for f in "$@"; do
  n=$(basename "$f" .c)
  t=${n#fuzz_}
  nice -n 10 clang -w $cflags -o "$out/$n" "$f" "$out/libretort-fuzz.a" $libs
  mkdir -p "$out/corpus-$n" "$out/crashes-$n"
  for s in "tests/fuzz/corpus/$t" "$out/seeds/$t"; do
    [ -d "$s" ] && cp -n "$s"/* "$out/corpus-$n/" 2>/dev/null || true
  done
  log="$out/$n.log"
  OMP_NUM_THREADS=1 nice -n 10 "$out/$n" -max_total_time="$SECS" -print_final_stats=1 -rss_limit_mb=2048 \
    -artifact_prefix="$out/crashes-$n/" "$out/corpus-$n" >"$log" 2>&1 || true
  execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
  crashes=$(ls "$out/crashes-$n" | wc -l)
  echo "fuzz $t seconds=$SECS execs=${execs:-0} cov=${cov:-0} ft=${ft:-0} crashes=$crashes"
  if [ "$crashes" -gt 0 ]; then
    failed=1
    grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5
  fi
done
exit $failed
