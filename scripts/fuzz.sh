#!/usr/bin/env bash
# make fuzz: build each tests/fuzz/fuzz_*.c with clang's libFuzzer + ASan against
# the library sources and run it for $FUZZ_SECONDS (default 60) seconds.
set -euo pipefail
SECS=${FUZZ_SECONDS:-60}
command -v clang >/dev/null || { apt-get install -y -qq clang >/dev/null; }
out=build-fuzz; mkdir -p "$out"
cflags="-g -O1 -fsanitize=fuzzer,address,undefined -fopenmp -D_GNU_SOURCE -Isrc $(pkg-config --cflags lua5.4 libutf8proc libcjson) -I/usr/include/x86_64-linux-gnu/openblas-openmp"
libs="$(pkg-config --libs lua5.4 readline libutf8proc libcjson) -L/usr/lib/x86_64-linux-gnu/openblas-openmp -lopenblas -Wl,-rpath,/usr/lib/x86_64-linux-gnu/openblas-openmp -lm"
srcs=$(ls src/core/*.c src/kernels/*.c src/autograd/*.c src/models/*.c src/text/*.c src/data/*.c src/io/*.c src/optim/*.c 2>/dev/null || true)
for f in "$@"; do
  n=$(basename "$f" .c)
  clang $cflags -o "$out/$n" "$f" $srcs $libs
  mkdir -p "$out/corpus-$n"
  seeds="tests/fuzz/corpus/${n#fuzz_}"
  [ -d "$seeds" ] && cp -n "$seeds"/* "$out/corpus-$n/" 2>/dev/null || true
  echo "== $n ($SECS s)"
  "$out/$n" -max_total_time="$SECS" -print_final_stats=1 "$out/corpus-$n" 2>&1 | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' || true
done
