"""PyTorch/Python peer of parsers.lua: the same generated inputs, parsed the way
PyTorch/HF read them (json for safetensors headers and SQuAD, pickle for a MEMOIZE
dict, torch.load for a zip with many storages, csv for task labels). One child
process per case so peak RSS is its own.
  python3 scripts/bench/parsers.py [--scale S]
Prints `bench parsers_py case=... n=... bytes=... seconds=... peak_rss_mb=...`."""
import os, pickle, resource, struct, subprocess, sys, tempfile, time, json, csv

SIZES = {"safetensors_entries": 80000, "safetensors_metadata": 80000, "pickle_memoize": 80000,
         "zip_entries": 20000, "squad": 5000, "task_labels": 40000}


def gen(case, d, n):
    if case == "safetensors_entries":
        hdr = "{" + ",".join('"t%d":{"dtype":"F32","shape":[1],"data_offsets":[%d,%d]}' % (i, 4 * (i - 1), 4 * i)
                             for i in range(1, n + 1)) + "}"
        p = os.path.join(d, "e.safetensors")
        open(p, "wb").write(struct.pack("<Q", len(hdr)) + hdr.encode() + b"\0" * (4 * n))
        return p, lambda: json.loads(open(p, "rb").read()[8:8 + len(hdr)])
    if case == "safetensors_metadata":
        hdr = '{"__metadata__":{' + ",".join('"k%d":"v"' % i for i in range(1, n + 1)) + "}}"
        p = os.path.join(d, "m.safetensors")
        open(p, "wb").write(struct.pack("<Q", len(hdr)) + hdr.encode())
        return p, lambda: json.loads(open(p, "rb").read()[8:])
    if case == "pickle_memoize":
        p = os.path.join(d, "memo.pkl")
        open(p, "wb").write(pickle.dumps({"k%d" % i: 1 for i in range(1, n + 1)}, protocol=4))
        return p, lambda: pickle.load(open(p, "rb"))
    if case == "zip_entries":
        import torch
        p = os.path.join(d, "many.bin")
        torch.save({"t%d" % i: torch.zeros(1) for i in range(1, n + 1)}, p)
        return p, lambda: torch.load(p, weights_only=True)
    if case == "squad":
        ctx = "a" * 200000
        qs = ",".join('{"id":"q%d","question":"q?","answers":[{"text":"a","answer_start":0}]}' % i for i in range(1, n + 1))
        p = os.path.join(d, "squad.json")
        open(p, "w").write('{"data":[{"title":"t","paragraphs":[{"context":"' + ctx + '","qas":[' + qs + "]}]}]}")
        return p, lambda: json.load(open(p))
    if case == "task_labels":
        p = os.path.join(d, "train.tsv")
        open(p, "w").write("".join("%d\tx\n" % (i % 2) for i in range(1, n + 1)))
        return p, lambda: sorted({r[0] for r in csv.reader(open(p), delimiter="\t", quotechar=None)})
    raise SystemExit("unknown case " + case)


def main():
    args = sys.argv[1:]
    if "--case" in args:
        case, n = args[args.index("--case") + 1], int(args[args.index("--n") + 1])
        with tempfile.TemporaryDirectory() as d:
            try:
                p, run = gen(case, d, n)
            except ImportError as e:
                print("bench parsers_py case=%s skipped=%s" % (case, e.name)); return
            t0 = time.process_time()
            run()
            secs = time.process_time() - t0
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print("bench parsers_py case=%s n=%d bytes=%d seconds=%.3f peak_rss_mb=%.0f" % (case, n, os.path.getsize(p), secs, peak))
        return
    scale = float(args[args.index("--scale") + 1]) if "--scale" in args else 1.0
    for case, n in SIZES.items():
        subprocess.run([sys.executable, __file__, "--case", case, "--n", str(max(1, int(n * scale)))], check=False)


if __name__ == "__main__":
    main()
