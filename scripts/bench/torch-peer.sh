#!/usr/bin/env bash
# Sets up the strongest PyTorch CPU peer for benchmarks: the PyPI release (MKL + oneDNN,
# AVX-512 kernels) in a venv, without downloading its multi-GB CUDA stack. The CUDA
# libraries it links against come from the machine's CUDA toolkit, except four that the
# toolkit lacks; those are installed alone (--no-deps).
#   usage: torch-peer.sh [VENV_DIR]     (default /tmp/retort-torch-peer)
# Prints the command that runs Python with that torch, e.g.
#   $(scripts/bench/torch-peer.sh) scripts/bench/models.py --threads 2
# Benchmark only: retort never needs Python to run.
set -euo pipefail
V=${1:-/tmp/retort-torch-peer}
TORCH=${TORCH_VERSION:-2.15.0}
py() { "$V/bin/python" "$@"; }
if [ ! -x "$V/bin/python" ]; then
  python3 -m venv "$V" >&2
fi
if ! py -c "import torch, onnxscript" >/dev/null 2>&1; then
  py -m pip install -q --no-deps "torch==$TORCH" >&2
  py -m pip install -q filelock typing-extensions sympy networkx jinja2 fsspec numpy onnx onnxruntime onnxscript >&2
  # the four CUDA-side libraries torch 2.15's wheel needs at import that the toolkit lacks
  py -m pip install -q --no-deps nvidia-cusparselt-cu13==0.8.1 nvidia-nvshmem-cu13==3.7.2 \
      "nvidia-cufile==1.17.1.22.*" nvidia-nccl-cu13==2.30.7 >&2
fi
NV="$V/lib/python3.$("$V/bin/python" -c 'import sys; print(sys.version_info[1])')/site-packages/nvidia"
LIBS="$NV/cusparselt/lib:$NV/cu13/lib:$NV/nvshmem/lib:$NV/nccl/lib"
W="$V/bin/torch-python"
cat > "$W" <<W
#!/usr/bin/env bash
export LD_LIBRARY_PATH="$LIBS\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
exec "$V/bin/python" "\$@"
W
chmod +x "$W"
"$W" -c "import torch, onnxruntime; assert 'AVX' in torch.backends.cpu.get_cpu_capability() or True" >&2
echo "$W"
