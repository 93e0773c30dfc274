"""Used by tests/lua/test_models.lua: a pytorch_model.bin written by retort must load
with torch.load into the reference PyTorch model (strict) and give retort's logits.
usage: /usr/bin/python3 tests/lua/check_torch_load.py DIR  (DIR has config.json,
pytorch_model.bin, io.safetensors with input_ids and logits from retort)"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "golden"))
import models  # noqa: E402


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
        data = f.read()
    dt = {"F32": np.float32, "I64": np.int64}
    return {k: torch.from_numpy(np.frombuffer(data[v["data_offsets"][0]:v["data_offsets"][1]],
                                              dtype=dt[v["dtype"]]).reshape(v["shape"]).copy())
            for k, v in h.items() if k != "__metadata__"}


d = sys.argv[1]
sd = torch.load(os.path.join(d, "pytorch_model.bin"), map_location="cpu")
assert sd["cls.predictions.decoder.weight"].data_ptr() == sd["bert.embeddings.word_embeddings.weight"].data_ptr(), \
    "tied decoder weight must share the word embeddings' storage"
c = json.load(open(os.path.join(d, "config.json")))
c["_seed"] = 0
m = models.Model(c).eval()
m.load_state_dict(sd, strict=True)
io = read_safetensors(os.path.join(d, "io.safetensors"))
ids = io["input_ids"]
out = m(ids, torch.zeros_like(ids), torch.ones_like(ids))
err = (out["logits"] - io["logits"]).abs().max().item()
assert err < 1e-5, f"logits differ by {err}"
print("torch.load ok", len(sd), "tensors, max logit diff", err)
