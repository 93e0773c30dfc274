#!/usr/bin/env bash
# Install the Debian packages retort needs to build, test and run.
# Idempotent: quiet when everything is present; runs `apt-get update` only when
# something is missing. Usage: scripts/install-deps.sh [--test | --dev | --mpi]
#   --test also installs python3-torch, so `make test` checks that files retort writes
#          as pytorch_model.bin load with torch.load (never needed to run retort)
#   --dev  also installs the reference/benchmark tools (python3-torch, sklearn, ...)
#   --mpi  also installs Open MPI, for the data-parallel build (`make MPI=1`) and its tests
set -euo pipefail

PKGS=(
  build-essential pkg-config
  liblua5.4-dev libreadline-dev
  libopenblas-dev libopenblas-openmp-dev libopenblas0-openmp
  libcmocka-dev libutf8proc-dev libcjson-dev
  libzmq3-dev libssl-dev
  fortunes fortunes-min fortunes-zh
  gnuplot-nox
  python3-nbformat
)
TEST_PKGS=(python3-torch python3-numpy chromium python3-jupyter-client python3-nbclient)
DEV_PKGS=("${TEST_PKGS[@]}" python3-sklearn python3-scipy python3-jieba python3-nltk)
MPI_PKGS=(libopenmpi-dev openmpi-bin)

want=("${PKGS[@]}")
case "${1:-}" in
  --test) want+=("${TEST_PKGS[@]}") ;;
  --dev) want+=("${DEV_PKGS[@]}") ;;
  --mpi) want+=("${MPI_PKGS[@]}") ;;
esac

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
