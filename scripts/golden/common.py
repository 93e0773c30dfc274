"""Shared helpers for the PyTorch reference generators (scripts/golden/*.py).

Fixtures are small safetensors files (written here without the safetensors
package: 8-byte little-endian header length, JSON header, raw data)."""
import json
import os
import struct

import torch

_DT = {torch.float32: "F32", torch.int64: "I64", torch.int32: "I32",
       torch.bfloat16: "BF16", torch.bool: "BOOL", torch.float64: "F64"}


def save_safetensors(path, tensors, metadata=None):
    """tensors: {name: torch.Tensor}; written in sorted name order, atomically."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        data = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": _DT[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    tmp = path + ".tmp"
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def seeded(seed):
    g = torch.Generator().manual_seed(seed)
    return g
