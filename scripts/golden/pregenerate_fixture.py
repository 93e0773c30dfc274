#!/usr/bin/python3
"""Interop fixtures for TinyBERT's pregenerated data (tests/golden/pregenerate):

1. every line retort wrote (retort/epoch_k.json, from scripts/pregen/make_fixture.lua)
   must be byte-identical to json.dumps(json.loads(line)) -- upstream's layout;
2. a reader written from TinyBERT/general_distill.py's PregeneratedDataset
   (convert_example_to_features: ids padded with 0 to the metrics' max_seq_len,
   input_mask, segment_ids, lm_label_ids = -1 except the masked positions, is_next)
   builds the arrays of the retort files; their checksums go to arrays.json;
3. the Python reference (scripts/golden/pregenerate.py, json.dumps output) writes
   upstream/epoch_0.json from the same corpus, with the checksums of its arrays.

tests/lua/test_pregenerate_interop.lua builds the same arrays with
rt.data.pregenerated_arrays and compares.
    /usr/bin/python3 scripts/golden/pregenerate_fixture.py
"""
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
OUT = os.path.join(ROOT, "tests", "golden", "pregenerate")
sys.path.insert(0, os.path.join(HERE, ".."))
import ref_tokenizer  # noqa: E402


def pregenerated_dataset(epoch_file, metrics_file, vocab):
    """PregeneratedDataset(reduce_memory=False) of one epoch."""
    metrics = json.load(open(metrics_file))
    n, L = metrics["num_training_examples"], metrics["max_seq_len"]
    input_ids = np.zeros((n, L), dtype=np.int64)
    input_masks = np.zeros((n, L), dtype=np.int64)
    segment_ids = np.zeros((n, L), dtype=np.int64)
    lm_label_ids = np.full((n, L), -1, dtype=np.int64)
    is_nexts = np.zeros((n,), dtype=np.int64)
    with open(epoch_file) as f:
        for i, line in enumerate(f):
            ex = json.loads(line.strip())
            tokens, seg = ex["tokens"], ex["segment_ids"]
            assert len(tokens) == len(seg) <= L
            ids = [vocab[t] for t in tokens]                       # convert_tokens_to_ids (KeyError if unknown)
            labels = [vocab[t] for t in ex["masked_lm_labels"]]
            input_ids[i, :len(ids)] = ids
            input_masks[i, :len(ids)] = 1
            segment_ids[i, :len(seg)] = seg
            lm_label_ids[i, ex["masked_lm_positions"]] = labels
            is_nexts[i] = ex["is_random_next"]
    assert i + 1 == n, (i + 1, n)
    return {"input_ids": input_ids, "input_mask": input_masks, "segment_ids": segment_ids,
            "lm_label_ids": lm_label_ids, "is_next": is_nexts}


def checksums(arrays):
    out = {}
    for k, a in arrays.items():
        flat = a.reshape(-1)
        w = (np.arange(flat.size) % 1009) + 1
        out[k] = {"shape": list(a.shape), "sum": int(flat.sum()), "wsum": int((flat * w).sum()),
                  "first": a[0].tolist() if a.ndim == 2 else a[:8].tolist()}
    return out


def main():
    vocab = ref_tokenizer.read_vocab(os.path.join(OUT, "vocab.txt"))
    res = {"retort": {}, "upstream": {}}
    k = 0
    while os.path.exists(os.path.join(OUT, "retort", "epoch_%d.json" % k)):
        ef = os.path.join(OUT, "retort", "epoch_%d.json" % k)
        with open(ef) as f:
            for ln, line in enumerate(f, 1):
                line = line.rstrip("\n")
                assert json.dumps(json.loads(line)) == line, "%s:%d differs from json.dumps" % (ef, ln)
        res["retort"]["epoch_%d" % k] = checksums(pregenerated_dataset(
            ef, os.path.join(OUT, "retort", "epoch_%d_metrics.json" % k), vocab))
        k += 1
    assert k > 0, "run scripts/pregen/make_fixture.lua first"
    up = os.path.join(OUT, "upstream")
    subprocess.check_call([sys.executable, os.path.join(HERE, "pregenerate.py"), "--train_corpus",
                           os.path.join(OUT, "corpus.txt"), "--bert_model", OUT, "--output_dir", up,
                           "--do_lower_case", "--epochs_to_generate", "1", "--max_seq_len", "64",
                           "--masked_lm_prob", "0.15", "--do_whole_word_mask", "--seed", "11"])
    res["upstream"]["epoch_0"] = checksums(pregenerated_dataset(
        os.path.join(up, "epoch_0.json"), os.path.join(up, "epoch_0_metrics.json"), vocab))
    res["layout_identical"] = True
    with open(os.path.join(OUT, "arrays.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    print("pregenerate_fixture: %d retort epochs match json.dumps; arrays.json written" % k)


if __name__ == "__main__":
    main()
