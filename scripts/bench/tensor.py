"""PyTorch peer of scripts/bench/tensor.lua: same ops, same shapes, same lines."""
import sys
import time

import torch
import torch.nn.functional as F

threads = 2
if "--threads" in sys.argv:
    threads = int(sys.argv[sys.argv.index("--threads") + 1])
torch.set_num_threads(threads)


def best(reps, fn):
    fn()
    b = 1e9
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        b = min(b, time.perf_counter() - t)
    return b


def line(name, shape, s):
    print(f"bench tensor_{name} impl=torch threads={threads} shape={shape} ms={s * 1e3:.3f}", flush=True)


torch.manual_seed(0)
R, H, FF = 32 * 128, 768, 3072
x, y, b = torch.randn(R, H), torch.randn(R, H), torch.randn(H)
f, g = torch.randn(R, FF), torch.randn(R, FF)

line("add_bias", "4096x768+768", best(20, lambda: x + b))
line("add", "4096x768", best(20, lambda: x + y))
line("mul_scalar", "4096x768", best(20, lambda: x * 0.5))
xg, bg = x.clone().requires_grad_(), b.clone().requires_grad_()


def add_fb():
    (xg + bg).backward(y)
    xg.grad = None
    bg.grad = None


line("add_bias_fwdbwd", "4096x768+768", best(10, add_fb))
line("gelu", "4096x3072", best(10, lambda: F.gelu(f)))
fg = f.clone().requires_grad_()


def gelu_fb():
    F.gelu(fg).backward(g)
    fg.grad = None


line("gelu_fwdbwd", "4096x3072", best(5, gelu_fb))
line("gelu_tanh", "4096x3072", best(10, lambda: F.gelu(f, approximate="tanh")))
line("tanh", "4096x3072", best(10, lambda: torch.tanh(f)))
line("exp", "4096x3072", best(10, lambda: torch.exp(f)))
line("sum_lastdim", "4096x3072", best(10, lambda: f.sum(1)))
line("sum_firstdim", "4096x3072", best(10, lambda: f.sum(0)))
line("mean_all", "4096x3072", best(10, lambda: f.mean()))
line("max_lastdim", "4096x3072", best(10, lambda: f.max(1)))
line("transpose_copy", "4096x768", best(10, lambda: x.t().contiguous()))
line("cat_dim2", "2x4096x768", best(10, lambda: torch.cat([x, y], 1)))
line("randn", "4096x3072", best(10, lambda: torch.randn(R, FF)))
