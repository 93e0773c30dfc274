#!/usr/bin/env python3
"""PyTorch peer of scripts/bench/dist.lua: the same cases with torch.distributed (gloo)
and DistributedDataParallel on this machine, one process per rank (torch.multiprocessing).
  /usr/bin/python3 scripts/bench/dist.py --threads 2 [--hidden 256] [--layers 4] [--seq 64]
         [--batch 16] [--steps 12] [--mb 64] [--reps 5]
case=step: a BERT-like encoder (nn.TransformerEncoder, GELU, post-LN, vocab 2000) with a
2-way classifier, AdamW, the same global batch: 1 rank x T threads vs T ranks x 1 thread
(DDP overlaps its 25 MiB gradient buckets with the backward pass).
case=allreduce: dist.all_reduce of --mb MiB in 768x768 + 768 tensors (flattened per
64 MiB bucket, as the fusion buffer), 2 ranks.
prints bench dist impl=torch case=... key=value ..."""
import argparse
import os
import socket
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn as nn


def args():
    p = argparse.ArgumentParser()
    for k, v in dict(threads=2, hidden=256, layers=4, seq=64, batch=16, steps=12, mb=64, reps=5, vocab=2000).items():
        p.add_argument("--" + k, type=int, default=v)
    return p.parse_args()


class Model(nn.Module):
    def __init__(self, o):
        super().__init__()
        H = o.hidden
        self.emb = nn.Embedding(o.vocab, H)
        self.pos = nn.Embedding(512, H)
        layer = nn.TransformerEncoderLayer(H, max(1, H // 64), 4 * H, dropout=0.0, activation="gelu",
                                           batch_first=True)
        self.enc = nn.TransformerEncoder(layer, o.layers)
        self.cls = nn.Linear(H, 2)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1]).unsqueeze(0)
        h = self.enc(self.emb(ids) + self.pos(pos))
        return self.cls(torch.tanh(h[:, 0]))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def init(rank, world, port):
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)


def step_worker(rank, world, port, o, threads, q):
    torch.set_num_threads(threads)
    if world > 1:
        init(rank, world, port)
    torch.manual_seed(1)
    model = Model(o)
    net = nn.parallel.DistributedDataParallel(model) if world > 1 else model
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(5)
    B = o.batch // world
    times = []
    for s in range(o.steps):
        ids = torch.randint(0, o.vocab, (o.batch, o.seq), generator=g)[rank * B:(rank + 1) * B]
        y = torch.arange(B) % 2
        t0 = time.perf_counter()
        loss = nn.functional.cross_entropy(net(ids), y)
        loss.backward()
        opt.step()
        opt.zero_grad()
        times.append(time.perf_counter() - t0)
    if rank == 0:
        q.put((sum(times[2:]) / max(1, len(times) - 2), sum(p.numel() for p in model.parameters())))
    if world > 1:
        dist.destroy_process_group()


def allreduce_worker(rank, world, port, o, q):
    torch.set_num_threads(1)
    init(rank, world, port)
    H, total = 768, o.mb * 1048576 // 4
    sizes, have = [], 0
    while have < total:
        m = min(H * H, total - have)
        sizes.append(m)
        have += m
        if have < total:
            sizes.append(min(H, total - have))
            have += sizes[-1]
    tensors = [torch.ones(n) for n in sizes]
    bucket = 64 * 1048576 // 4

    def reduce_all():
        i = 0
        while i < len(tensors):
            j, n = i, 0
            while j < len(tensors) and (n + tensors[j].numel() <= bucket or j == i):
                n += tensors[j].numel()
                j += 1
            flat = torch.cat([t.view(-1) for t in tensors[i:j]])
            dist.all_reduce(flat)
            flat /= world
            off = 0
            for t in tensors[i:j]:
                t.copy_(flat[off:off + t.numel()])
                off += t.numel()
            i = j

    reduce_all()
    dist.barrier()
    t0 = time.perf_counter()
    for _ in range(o.reps):
        reduce_all()
    dt = (time.perf_counter() - t0) / o.reps
    if rank == 0:
        q.put((have * 4, len(tensors), dt))
    dist.destroy_process_group()


def spawn(fn, world, *a):
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    port = free_port()
    procs = [ctx.Process(target=fn, args=(r, world, port) + a + (q,)) for r in range(world)]
    for p in procs:
        p.start()
    res = q.get(timeout=600)
    for p in procs:
        p.join(600)
    return res


def main():
    o = args()
    T = o.threads
    one_s, params = spawn(step_worker, 1, o, T)
    many_s, _ = spawn(step_worker, T, o, 1)
    print(f"bench dist impl=torch case=step ranks=1 threads={T} hidden={o.hidden} layers={o.layers} seq={o.seq} "
          f"batch={o.batch} params={params} step_ms={one_s * 1e3:.2f}")
    print(f"bench dist impl=torch case=step ranks={T} threads=1 hidden={o.hidden} layers={o.layers} seq={o.seq} "
          f"batch={o.batch} params={params} step_ms={many_s * 1e3:.2f} speedup_vs_threads={one_s / many_s:.3f}")
    nbytes, ntens, dt = spawn(allreduce_worker, 2, o)
    print(f"bench dist impl=torch case=allreduce ranks=2 bytes={nbytes} tensors={ntens} ms={dt * 1e3:.2f} "
          f"bytes_per_s={nbytes / dt:.4g} s_per_param_byte={dt / nbytes:.4g}")


if __name__ == "__main__":
    main()
