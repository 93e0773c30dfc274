#!/usr/bin/python3
"""Golden create_pretraining_data: an independent re-implementation (written for
retort, not copied) of BERT/NEZHA create_pretraining_data.py, driven by CPython's
random.Random(seed) in the upstream order of draws, writing TFRecords of
tf.train.Example by hand (no TensorFlow): the reference for `--rng python`.

  create_pretraining_data.py --input_file=a.txt[,b.txt] --output_file=o.tfrecord[,p.tfrecord]
      --vocab_file=vocab.txt [--do_lower_case=False] [--do_whole_word_mask] [--dupe_factor=N]
      [--max_seq_length=128] [--max_predictions_per_seq=20] [--random_seed=12345]
      [--masked_lm_prob=0.15] [--short_seq_prob=0.1] [--bench]   (--bench: print MB/s)
  create_pretraining_data.py --fixtures=tests/golden/create_pretraining_data   (on $RETORT_SEED or ../shared/seed)

Also importable: read_records(path) -> [dict name -> (kind, values)], the
independent §2.2 decoder the tests use on files retort wrote.
"""
import glob
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from ref_tokenizer import FullTokenizer  # noqa: E402

import random  # noqa: E402

# ---- TFRecord + Example (protobuf by hand) ----------------------------------------------

def _crc32c_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_T = _crc32c_table()


def crc32c(b):
    c = 0xFFFFFFFF
    for x in b:
        c = _T[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


def masked_crc(b):
    c = crc32c(b)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(v):
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def ld(field, payload):
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def feature_int64(vals):
    packed = b"".join(varint(v) for v in vals)
    return ld(3, ld(1, packed) if vals else b"")


def feature_float(vals):
    packed = b"".join(struct.pack("<f", v) for v in vals)
    return ld(2, ld(1, packed) if vals else b"")


# the order the protobuf runtime serialises this map in (as in the upstream files)
ORDER = ["masked_lm_positions", "masked_lm_ids", "masked_lm_weights", "segment_ids",
         "input_mask", "input_ids", "next_sentence_labels"]


def example(features):
    body = b"".join(ld(1, ld(1, k.encode()) + ld(2, features[k])) for k in ORDER)
    return ld(1, body)


def frame(payload):
    n = struct.pack("<Q", len(payload))
    return n + struct.pack("<I", masked_crc(n)) + payload + struct.pack("<I", masked_crc(payload))


def _rd_varint(b, i):
    v, s = 0, 0
    while True:
        x = b[i]
        i += 1
        v |= (x & 0x7F) << s
        s += 7
        if not x & 0x80:
            return v, i


def _fields(b):
    i, out = 0, []
    while i < len(b):
        tag, i = _rd_varint(b, i)
        wt = tag & 7
        if wt == 2:
            n, i = _rd_varint(b, i)
            out.append((tag >> 3, b[i:i + n]))
            i += n
        elif wt == 0:
            v, i = _rd_varint(b, i)
            out.append((tag >> 3, v))
        else:
            raise ValueError("unexpected wire type %d" % wt)
    return out


def read_records(path):
    """Decode a TFRecord file of Examples: [ {name: ("int64"|"float"|"bytes", [values])} ]."""
    data = open(path, "rb").read()
    i, recs = 0, []
    while i < len(data):
        n = struct.unpack_from("<Q", data, i)[0]
        if struct.unpack_from("<I", data, i + 8)[0] != masked_crc(data[i:i + 8]):
            raise ValueError("%s: length CRC mismatch at %d" % (path, i))
        payload = data[i + 12:i + 12 + n]
        if struct.unpack_from("<I", data, i + 12 + n)[0] != masked_crc(payload):
            raise ValueError("%s: data CRC mismatch at %d" % (path, i))
        i += 16 + n
        feats = {}
        for f, features in _fields(payload):
            assert f == 1
            for g, entry in _fields(features):
                assert g == 1
                kv = dict(_fields(entry))
                name, feat = kv[1].decode(), kv.get(2, b"")
                for kind, lst in _fields(feat):
                    vals = []
                    for h, v in _fields(lst):
                        if kind == 3:
                            j = 0
                            while j < len(v):
                                x, j = _rd_varint(v, j)
                                vals.append(x)
                        elif kind == 2:
                            vals.extend(struct.unpack("<%df" % (len(v) // 4), v))
                        else:
                            vals.append(v)
                    feats[name] = ({1: "bytes", 2: "float", 3: "int64"}[kind], vals)
        recs.append(feats)
    return recs


# ---- the algorithm ------------------------------------------------------------------------

class Instance:
    def __init__(self, tokens, segment_ids, positions, labels, is_random_next):
        self.tokens, self.segment_ids = tokens, segment_ids
        self.positions, self.labels, self.is_random_next = positions, labels, is_random_next


def create_training_instances(files, tok, max_seq, dupe, short_prob, mlm_prob, max_pred, rng, wwm):
    docs = [[]]
    for path in files:
        with open(path, "rb") as f:
            lines = f.read().split(b"\n")
            if lines and lines[-1] == b"":
                lines.pop()            # readline() gives no empty line after the final newline
            for raw in lines:
                line = raw.decode("utf-8", "ignore").strip()
                if not line:
                    docs.append([])
                tokens = tok.tokenize(line)
                if tokens:
                    docs[-1].append(tokens)
    # (a file's last document continues into the next file, as with upstream's readline loop)
    docs = [d for d in docs if d]
    rng.shuffle(docs)
    vocab_words = list(tok.vocab.keys())
    instances = []
    for _ in range(dupe):
        for di in range(len(docs)):
            instances.extend(from_document(docs, di, max_seq, short_prob, mlm_prob, max_pred, vocab_words, rng, wwm))
    rng.shuffle(instances)
    return instances


def from_document(docs, di, max_seq, short_prob, mlm_prob, max_pred, vocab_words, rng, wwm):
    document = docs[di]
    max_num = max_seq - 3
    target = max_num
    if rng.random() < short_prob:
        target = rng.randint(2, max_num)
    out, chunk, cur = [], [], 0
    i = 0
    while i < len(document):
        chunk.append(document[i])
        cur += len(document[i])
        if i == len(document) - 1 or cur >= target:
            if chunk:
                a_end = 1
                if len(chunk) >= 2:
                    a_end = rng.randint(1, len(chunk) - 1)
                a = [t for s in chunk[:a_end] for t in s]
                b = []
                if len(chunk) == 1 or rng.random() < 0.5:
                    is_random = True
                    target_b = target - len(a)
                    for _ in range(10):
                        rdi = rng.randint(0, len(docs) - 1)
                        if rdi != di:
                            break
                    rdoc = docs[rdi]
                    start = rng.randint(0, len(rdoc) - 1)
                    for j in range(start, len(rdoc)):
                        b.extend(rdoc[j])
                        if len(b) >= target_b:
                            break
                    i -= len(chunk) - a_end
                else:
                    is_random = False
                    for j in range(a_end, len(chunk)):
                        b.extend(chunk[j])
                while len(a) + len(b) > max_num:
                    t = a if len(a) > len(b) else b
                    if rng.random() < 0.5:
                        del t[0]
                    else:
                        t.pop()
                assert a and b
                tokens = ["[CLS]"] + a + ["[SEP]"] + b + ["[SEP]"]
                seg = [0] * (len(a) + 2) + [1] * (len(b) + 1)
                tokens, pos, labels = masked_lm(tokens, mlm_prob, max_pred, vocab_words, rng, wwm)
                out.append(Instance(tokens, seg, pos, labels, is_random))
            chunk, cur = [], 0
        i += 1
    return out


def masked_lm(tokens, prob, max_pred, vocab_words, rng, wwm):
    cand = []
    for i, t in enumerate(tokens):
        if t == "[CLS]" or t == "[SEP]":
            continue
        if wwm and cand and t.startswith("##"):
            cand[-1].append(i)
        else:
            cand.append([i])
    rng.shuffle(cand)
    out = list(tokens)
    n = min(max_pred, max(1, int(round(len(tokens) * prob))))
    lms, covered = [], set()
    for group in cand:
        if len(lms) >= n:
            break
        if len(lms) + len(group) > n:
            continue
        if any(i in covered for i in group):
            continue
        for i in group:
            covered.add(i)
            if rng.random() < 0.8:
                m = "[MASK]"
            elif rng.random() < 0.5:
                m = tokens[i]
            else:
                m = vocab_words[rng.randint(0, len(vocab_words) - 1)]
            out[i] = m
            lms.append((i, tokens[i]))
    lms.sort()
    return out, [i for i, _ in lms], [l for _, l in lms]


def write(instances, tok, max_seq, max_pred, outputs):
    fs = [open(p + ".tmp", "wb") for p in outputs]
    w = 0
    for inst in instances:
        ids = tok.ids(inst.tokens)
        mask = [1] * len(ids)
        seg = list(inst.segment_ids)
        ids += [0] * (max_seq - len(ids)); mask += [0] * (max_seq - len(mask)); seg += [0] * (max_seq - len(seg))
        pos = list(inst.positions)
        lab = tok.ids(inst.labels)
        wts = [1.0] * len(lab)
        k = max_pred - len(pos)
        pos += [0] * k; lab += [0] * k; wts += [0.0] * k
        feats = {"input_ids": feature_int64(ids), "input_mask": feature_int64(mask),
                 "segment_ids": feature_int64(seg), "masked_lm_positions": feature_int64(pos),
                 "masked_lm_ids": feature_int64(lab), "masked_lm_weights": feature_float(wts),
                 "next_sentence_labels": feature_int64([1 if inst.is_random_next else 0])}
        fs[w].write(frame(example(feats)))
        w = (w + 1) % len(fs)
    for f, p in zip(fs, outputs):
        f.close()
        os.replace(p + ".tmp", p)


# The committed fixtures (tests/golden/create_pretraining_data/): name -> flags, on the seed data.
FIXTURES = {
    "plain": {"input_file": "pretrain-toy/sample_text.txt", "vocab_file": "nezha-en-base/vocab.txt",
              "do_lower_case": "False", "dupe_factor": "2", "outputs": "2"},
    "wwm": {"input_file": "pretrain-toy/sample_text.txt", "vocab_file": "nezha-en-base/vocab.txt",
            "do_lower_case": "True", "do_whole_word_mask": "True", "max_seq_length": "64",
            "max_predictions_per_seq": "12", "masked_lm_prob": "0.2", "random_seed": "7",
            "dupe_factor": "2", "short_seq_prob": "0.3", "outputs": "1"},
}


def fixtures(out_dir, seed_dir):
    """--fixtures=DIR: write DIR/<name>_<k>.tfrecord for every FIXTURES entry, and DIR/cases.tsv."""
    os.makedirs(out_dir, exist_ok=True)
    rows = []
    for name, f in FIXTURES.items():
        outs = ",".join(os.path.join(out_dir, "%s_%d.tfrecord" % (name, k)) for k in range(int(f["outputs"])))
        args = ["--%s=%s" % (k, os.path.join(seed_dir, v) if k in ("input_file", "vocab_file") else v)
                for k, v in f.items() if k != "outputs"]
        sys.argv = [sys.argv[0]] + args + ["--output_file=" + outs]
        main()
        rows.append(name + "\t" + " ".join("%s=%s" % kv for kv in f.items()))
    with open(os.path.join(out_dir, "cases.tsv"), "w") as fh:
        fh.write("\n".join(rows) + "\n")


def generate(out_dir):
    """scripts/make_golden.py entry point (needs the seed data)."""
    here = os.path.dirname(os.path.abspath(__file__))
    seed = os.environ.get("RETORT_SEED", os.path.join(here, "..", "..", "..", "shared", "seed"))
    argv = sys.argv
    try:
        fixtures(out_dir, seed)
    finally:
        sys.argv = argv


def main():
    for a in sys.argv[1:]:
        if a.startswith("--fixtures="):
            here = os.path.dirname(os.path.abspath(__file__))
            seed = os.environ.get("RETORT_SEED", os.path.join(here, "..", "..", "..", "shared", "seed"))
            return fixtures(a.split("=", 1)[1], seed)
    o = {"do_lower_case": "True", "do_whole_word_mask": "False", "max_seq_length": "128",
         "max_predictions_per_seq": "20", "random_seed": "12345", "dupe_factor": "10",
         "masked_lm_prob": "0.15", "short_seq_prob": "0.1", "bench": "False"}
    for a in sys.argv[1:]:
        k, _, v = a.lstrip("-").partition("=")
        o[k] = v if _ else "True"
    b = lambda k: o[k].lower() in ("true", "1", "yes")  # noqa: E731
    files = [f for p in o["input_file"].split(",") for f in sorted(glob.glob(p))]
    tok = FullTokenizer(o["vocab_file"], b("do_lower_case"))
    t0 = time.time()
    rng = random.Random(int(o["random_seed"]))
    inst = create_training_instances(files, tok, int(o["max_seq_length"]), int(o["dupe_factor"]),
                                     float(o["short_seq_prob"]), float(o["masked_lm_prob"]),
                                     int(o["max_predictions_per_seq"]), rng, b("do_whole_word_mask"))
    write(inst, tok, int(o["max_seq_length"]), int(o["max_predictions_per_seq"]), o["output_file"].split(","))
    if b("bench"):
        mb = sum(os.path.getsize(f) for f in files) / 1e6
        dt = time.time() - t0
        print("bench create_pretraining_python mb=%.3f seconds=%.3f mb_s=%.4f instances=%d" % (mb, dt, mb / dt, len(inst)))


if __name__ == "__main__":
    main()
