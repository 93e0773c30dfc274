"""Fixtures for the weight-file readers (tests/golden/weights_io/):

- mixed.safetensors: f32/i64/i32/bf16/bool/f64 tensors + metadata (values: arange).
- state.bin (torch.save, archive folder "state/"): tied names, two names on one
  storage with different offsets, a transposed view, a Parameter, half/bf16/
  int64/bool/int8 tensors, a 0-dim tensor, nested dict, int/str extras.
- archive.bin: the same state_dict written through a buffer (folder "archive/").
- proto4.bin: the same with pickle protocol 4 (folder "proto4/").
- expected.safetensors: the values rt.load(state.bin) must give (f32 for half).
- legacy.bin: the pre-1.6 non-zip format (must be rejected clearly).
- deflated.bin: state.bin with deflate-compressed entries (rejected clearly).
- evil_system.bin / evil_eval.bin: a data.pkl that would call os.system /
  builtins.eval when unpickled by Python (must be refused, never executed).
"""
import collections
import io
import os
import pickle
import zipfile

import torch

from common import save_safetensors


def _state():
    g = torch.Generator().manual_seed(7)
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    emb = torch.randn(5, 3, generator=g)
    big = torch.arange(10, dtype=torch.float32)
    sd = collections.OrderedDict()
    sd["bert.embeddings.word_embeddings.weight"] = emb
    sd["cls.predictions.decoder.weight"] = emb             # tied: same tensor
    sd["first_half"] = big[:5]                              # one storage, two offsets
    sd["second_half"] = big[5:]
    sd["transposed"] = base.t()                             # non-contiguous view
    sd["param"] = torch.nn.Parameter(torch.ones(2, 2) * 3)
    sd["half"] = torch.tensor([1.0, -2.0, 0.5, 65504.0], dtype=torch.float16)
    sd["bf16"] = torch.tensor([1.0, -2.5, 3.0], dtype=torch.bfloat16)
    sd["ids"] = torch.tensor([[1, 2**40], [-3, 4]], dtype=torch.int64)
    sd["mask"] = torch.tensor([True, False, True])
    sd["int8"] = torch.tensor([-5, 7], dtype=torch.int8)
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    return sd


def _expected(sd):
    exp = {}
    for k, v in sd.items():
        v = v.detach()
        if v.dtype in (torch.float16, torch.float64):
            v = v.float()
        elif v.dtype == torch.int8:
            v = v.int()
        exp[k] = v.contiguous()
    return exp


def _info(name, method=zipfile.ZIP_STORED):
    zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))   # deterministic bytes
    zi.compress_type = method
    return zi


def _evil(path, module, name, arg):
    body = b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n" + \
        pickle.dumps((arg,), protocol=2)[2:-1] + b"R."
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(_info("archive/data.pkl"), body)
        z.writestr(_info("archive/version"), "3\n")


def generate(out):
    sd = _state()
    outer = collections.OrderedDict(sd)
    outer["extra"] = {"nested": torch.tensor([9, 8], dtype=torch.int32), "epoch": 3, "note": "hi"}
    torch.save(outer, os.path.join(out, "state.bin"))
    buf = io.BytesIO()
    torch.save(sd, buf)
    with open(os.path.join(out, "archive.bin"), "wb") as f:
        f.write(buf.getvalue())
    torch.save(sd, os.path.join(out, "proto4.bin"), pickle_protocol=4)   # FRAME, STACK_GLOBAL, MEMOIZE
    exp = _expected(sd)
    exp["extra.nested"] = outer["extra"]["nested"]
    save_safetensors(os.path.join(out, "expected.safetensors"), exp)
    torch.save({"w": torch.ones(2)}, os.path.join(out, "legacy.bin"), _use_new_zipfile_serialization=False)
    with zipfile.ZipFile(os.path.join(out, "state.bin")) as zi, \
            zipfile.ZipFile(os.path.join(out, "deflated.bin"), "w", zipfile.ZIP_DEFLATED) as zo:
        for n in zi.namelist():
            zo.writestr(_info(n, zipfile.ZIP_DEFLATED), zi.read(n))
    _evil(os.path.join(out, "evil_system.bin"), "posix", "system", "echo pwned > /tmp/retort_pwned")
    _evil(os.path.join(out, "evil_eval.bin"), "builtins", "eval", "print('pwned')")
    mixed = {
        "f32": torch.arange(12, dtype=torch.float32).reshape(3, 4) / 4,
        "i64": torch.arange(5, dtype=torch.int64) * (2**33),
        "i32": torch.arange(-2, 3, dtype=torch.int32),
        "bf16": torch.tensor([1.5, -2.0], dtype=torch.bfloat16),
        "bool": torch.tensor([True, False, False]),
        "f64": torch.tensor([0.125, -8.0], dtype=torch.float64),
        "scalar": torch.tensor(4.0),
    }
    save_safetensors(os.path.join(out, "mixed.safetensors"), mixed, {"format": "pt", "source": "scripts/golden/weights_io.py"})
