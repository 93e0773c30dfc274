#!/usr/bin/python3
"""Reference TinyBERT pregeneration: a re-implementation (written for retort, not
copied) of TinyBERT/pregenerate_training_data.py's algorithm, in plain Python as
upstream runs it: documents of tokenized lines, sentence-weighted random-next
sampling (sample_doc), short_seq_prob, truncate_seq_pair, [CLS] A [SEP] B [SEP],
num_to_mask = min(max_pred, max(1, int(round(len(tokens) * masked_lm_prob)))),
80/10/10, whole-word groups of ## pieces, --one_seq, epoch_{k}.json (json.dumps of
each instance) + epoch_{k}_metrics.json. Tokenizer: scripts/ref_tokenizer.py.
Unlike upstream it seeds `random` (--seed) so runs repeat.

Used for the throughput comparison (scripts/bench/pregenerate.py) and, as
make_golden.py's generate(), the interop fixtures of tests/golden/pregenerate:
  1. every line retort wrote (retort/epoch_k.json, from scripts/pregen/make_fixture.lua)
     must be byte-identical to json.dumps(json.loads(line)) -- upstream's layout;
  2. a reader written from TinyBERT/general_distill.py's PregeneratedDataset
     (convert_example_to_features: ids padded with 0 to the metrics' max_seq_len,
     input_mask, segment_ids, lm_label_ids = -1 except the masked positions, is_next)
     builds the arrays of the retort files; their checksums go to arrays.json;
  3. this re-implementation writes upstream/epoch_0.json (json.dumps) from the same
     corpus, with the checksums of its arrays.
tests/lua/test_golden_pregenerate.lua builds the same arrays with rt.data.pregenerated_arrays.
    /usr/bin/python3 scripts/make_golden.py --only pregenerate

    pregenerate.py --train_corpus C --bert_model DIR --output_dir OUT [--do_lower_case] ...
"""
import argparse
import bisect
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import ref_tokenizer  # noqa: E402

FIXTURE = os.path.join(HERE, "..", "..", "tests", "golden", "pregenerate")


class DocumentDatabase:
    def __init__(self):
        self.documents, self.doc_lengths, self.cumsum = [], [], None

    def add_document(self, doc):
        if not doc:
            return
        self.documents.append(doc)
        self.doc_lengths.append(len(doc))

    def __len__(self):
        return len(self.documents)

    def sample_doc(self, current_idx):
        """sentence_weighted=True: a document other than current_idx, chosen with
        probability proportional to its sentence count."""
        if self.cumsum is None:
            self.cumsum = list(itertools.accumulate(self.doc_lengths))
        cmax = self.cumsum[-1]
        start = self.cumsum[current_idx]
        end = start + cmax - self.doc_lengths[current_idx]
        s = random.randrange(start, end) % cmax
        idx = bisect.bisect_right(self.cumsum, s)      # np.searchsorted(side='right')
        assert idx != current_idx
        return self.documents[idx]


def truncate_seq_pair(a, b, max_num_tokens):
    while len(a) + len(b) > max_num_tokens:
        t = a if len(a) > len(b) else b
        if random.random() < 0.5:
            del t[0]
        else:
            t.pop()


def create_masked_lm_predictions(tokens, masked_lm_prob, max_pred, whole_word, vocab_list, stats):
    cand = []
    for i, tok in enumerate(tokens):
        if tok == "[CLS]" or tok == "[SEP]":
            continue
        if whole_word and len(cand) >= 1 and tok.startswith("##"):
            cand[-1].append(i)
        else:
            cand.append([i])
    num_to_mask = min(max_pred, max(1, int(round(len(tokens) * masked_lm_prob))))
    random.shuffle(cand)
    masked, covered = [], set()
    for group in cand:
        if len(masked) >= num_to_mask:
            break
        if len(masked) + len(group) > num_to_mask:
            continue
        if any(i in covered for i in group):
            continue
        for i in group:
            covered.add(i)
            if random.random() < 0.8:
                new = "[MASK]"
                stats["mask_token"] += 1
            elif random.random() < 0.5:
                new = tokens[i]
                stats["kept"] += 1
            else:
                new = random.choice(vocab_list)
                stats["random_token"] += 1
            masked.append((i, tokens[i]))
            tokens[i] = new
    masked.sort(key=lambda x: x[0])
    return tokens, [p for p, _ in masked], [l for _, l in masked]


def create_instances_from_document(db, doc_idx, a, vocab_list, stats):
    document = db.documents[doc_idx]
    max_num_tokens = a.max_seq_len - 3
    target = max_num_tokens
    if random.random() < a.short_seq_prob:
        target = random.randint(2, max_num_tokens)
    instances, chunk, cur_len, i = [], [], 0, 0
    while i < len(document):
        seg = document[i]
        chunk.append(seg)
        cur_len += len(seg)
        if i == len(document) - 1 or cur_len >= target:
            if chunk:
                a_end = random.randrange(1, len(chunk)) if len(chunk) >= 2 else 1
                ta = [t for s in chunk[:a_end] for t in s]
                tb = []
                if not a.one_seq and (len(chunk) == 1 or random.random() < 0.5):
                    is_random_next = True
                    stats["forced_random"] += len(chunk) == 1
                    target_b = target - len(ta)
                    rdoc = db.sample_doc(doc_idx)
                    rstart = random.randrange(0, len(rdoc))
                    for j in range(rstart, len(rdoc)):
                        tb.extend(rdoc[j])
                        if len(tb) >= target_b:
                            break
                    i -= len(chunk) - a_end
                else:
                    is_random_next = False
                    for s in chunk[a_end:]:
                        tb.extend(s)
                if not ta:
                    ta = ["."]
                if not tb:
                    tb = ["."]
                truncate_seq_pair(ta, tb, max_num_tokens)
                tokens = ["[CLS]"] + ta + ["[SEP]"] + tb + ["[SEP]"]
                segment_ids = [0] * (len(ta) + 2) + [1] * (len(tb) + 1)
                tokens, pos, labels = create_masked_lm_predictions(
                    tokens, a.masked_lm_prob, a.max_predictions_per_seq, a.do_whole_word_mask, vocab_list, stats)
                instances.append({"tokens": tokens, "segment_ids": segment_ids, "is_random_next": is_random_next,
                                  "masked_lm_positions": pos, "masked_lm_labels": labels})
                stats["instances"] += 1
                stats["random_next"] += is_random_next
                stats["masked"] += len(pos)
                stats["tokens"] += len(tokens)
                stats["len_hist"][len(tokens)] = stats["len_hist"].get(len(tokens), 0) + 1
            chunk, cur_len = [], 0
        i += 1
    return instances


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--train_corpus", required=True)
    ap.add_argument("--output_dir", required=True)
    ap.add_argument("--bert_model", required=True)
    ap.add_argument("--do_lower_case", action="store_true")
    ap.add_argument("--do_whole_word_mask", action="store_true")
    ap.add_argument("--epochs_to_generate", type=int, default=3)
    ap.add_argument("--max_seq_len", type=int, default=128)
    ap.add_argument("--short_seq_prob", type=float, default=0.1)
    ap.add_argument("--masked_lm_prob", type=float, default=0.0)
    ap.add_argument("--max_predictions_per_seq", type=int, default=20)
    ap.add_argument("--one_seq", action="store_true")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--stats", help="write the statistics (JSON) here")
    a = ap.parse_args()
    random.seed(a.seed)
    t0 = time.time()
    vocab = a.bert_model if a.bert_model.endswith(".txt") else os.path.join(a.bert_model, "vocab.txt")
    tok = ref_tokenizer.FullTokenizer(vocab, a.do_lower_case)
    vocab_list = list(tok.vocab.keys())
    db = DocumentDatabase()
    with open(a.train_corpus, encoding="utf-8") as f:
        doc = []
        for line in f:
            line = line.strip()
            if line == "":
                db.add_document(doc)
                doc = []
            else:
                doc.append(tok.tokenize(line))
        if doc:
            db.add_document(doc)
    if len(db) <= 1:
        sys.exit("ERROR: No document breaks were found in the input file!")
    os.makedirs(a.output_dir, exist_ok=True)
    all_stats = []
    for epoch in range(a.epochs_to_generate):
        stats = {k: 0 for k in ("instances", "random_next", "forced_random", "masked", "mask_token", "kept",
                                "random_token", "tokens")}
        stats["len_hist"] = {}
        n = 0
        with open(os.path.join(a.output_dir, "epoch_%d.json" % epoch), "w") as ef:
            for doc_idx in range(len(db)):
                for inst in create_instances_from_document(db, doc_idx, a, vocab_list, stats):
                    ef.write(json.dumps(inst) + "\n")
                    n += 1
        with open(os.path.join(a.output_dir, "epoch_%d_metrics.json" % epoch), "w") as mf:
            mf.write(json.dumps({"num_training_examples": n, "max_seq_len": a.max_seq_len}))
        all_stats.append(stats)
    secs = time.time() - t0
    mb = os.path.getsize(a.train_corpus) / 1e6
    print("pregenerate.py: %d documents, %d epochs, %.1f MB in %.1f s (%.3f MB/s)"
          % (len(db), a.epochs_to_generate, mb, secs, mb / secs))
    if a.stats:
        with open(a.stats, "w") as sf:
            json.dump({"seconds": secs, "mb": mb, "documents": len(db), "epochs": all_stats}, sf)


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


def generate(out_dir):
    """make_golden.py entry: the interop fixtures of tests/golden/pregenerate in out_dir
    (the retort-written inputs are copied there first when out_dir is elsewhere)."""
    OUT = out_dir
    if os.path.abspath(out_dir) != os.path.abspath(FIXTURE):
        for rel in ("corpus.txt", "vocab.txt"):
            shutil.copy(os.path.join(FIXTURE, rel), os.path.join(out_dir, rel))
        shutil.copytree(os.path.join(FIXTURE, "retort"), os.path.join(out_dir, "retort"), dirs_exist_ok=True)
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
    subprocess.check_call([sys.executable, os.path.abspath(__file__), "--train_corpus",
                           os.path.join(OUT, "corpus.txt"), "--bert_model", OUT, "--output_dir", up,
                           "--do_lower_case", "--epochs_to_generate", "1", "--max_seq_len", "64",
                           "--masked_lm_prob", "0.15", "--do_whole_word_mask", "--seed", "11"],
                          stdout=subprocess.DEVNULL)
    res["upstream"]["epoch_0"] = checksums(pregenerated_dataset(
        os.path.join(up, "epoch_0.json"), os.path.join(up, "epoch_0_metrics.json"), vocab))
    res["layout_identical"] = True
    with open(os.path.join(OUT, "arrays.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    print("pregenerate: %d retort epochs match json.dumps; arrays.json written" % k)


if __name__ == "__main__":
    main()
