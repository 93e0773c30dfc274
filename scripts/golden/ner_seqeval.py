"""Entity-level NER scores from seqeval (tests/lua/test_ner.lua).

seqeval (PyPI, test-only: python3 -m venv /tmp/seqeval-venv &&
/tmp/seqeval-venv/bin/pip install seqeval) in its default (conlleval) mode:
micro precision / recall / F1 over entities and the per-type report, on
generated BIO predictions that include broken sequences (I- after O, I- of
another type after B-, a sentence starting with I-, lone I-). When seqeval is
not importable, the script re-runs itself with $SEQEVAL_PYTHON (default
/tmp/seqeval-venv/bin/python); without either the committed fixture is kept.
Writes ner_seqeval/cases.json."""
import json
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
COMMITTED = os.path.join(HERE, "..", "..", "tests", "golden", "ner_seqeval")

TYPES = ["PER", "ORG", "LOC"]
TAGS = ["O"] * 4 + ["B-" + t for t in TYPES] + ["I-" + t for t in TYPES]


def gen_sentence(rng, n):
    out, i = [], 0
    while i < n:
        if rng.random() < 0.6:
            out.append("O")
            i += 1
            continue
        t = rng.choice(TYPES)
        L = rng.randrange(1, 5)
        for k in range(L):
            if i < n:
                out.append(("B-" if k == 0 else "I-") + t)
                i += 1
    return out


def corrupt(rng, gold):
    pred = list(gold)
    for i in range(len(pred)):
        r = rng.random()
        if r < 0.08:
            pred[i] = "O"
        elif r < 0.14:
            pred[i] = "I-" + rng.choice(TYPES)          # broken: I- without B-, or type switch
        elif r < 0.18:
            pred[i] = "B-" + rng.choice(TYPES)
    return pred


def cases():
    rng = random.Random(15)
    sets = []
    for name, ns in (("random", 40), ("short", 8)):
        gold, pred = [], []
        for _ in range(ns):
            g = gen_sentence(rng, rng.randrange(1, 25))
            gold.append(g)
            pred.append(corrupt(rng, g))
        sets.append((name, gold, pred))
    broken = [
        (["B-PER", "I-PER", "O", "B-LOC"], ["I-PER", "I-PER", "O", "I-LOC"]),
        (["O", "B-ORG", "I-ORG", "I-ORG"], ["O", "B-ORG", "I-LOC", "I-ORG"]),
        (["B-LOC", "B-LOC", "I-LOC"], ["B-LOC", "I-LOC", "I-LOC"]),
        (["O", "O", "O"], ["I-PER", "O", "I-PER"]),
        (["B-PER", "I-PER", "I-PER"], ["B-PER", "I-PER", "B-PER"]),
        (["I-ORG", "I-ORG", "O"], ["B-ORG", "I-ORG", "O"]),
    ]
    sets.append(("broken", [g for g, _ in broken], [p for _, p in broken]))
    sets.append(("no_entities", [["O", "O"], ["O"]], [["O", "O"], ["O"]]))
    return sets


def compute():
    from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
    import seqeval
    out = []
    for name, gold, pred in cases():
        c = {"name": name, "gold": gold, "pred": pred,
             "precision": precision_score(gold, pred, zero_division=0),
             "recall": recall_score(gold, pred, zero_division=0),
             "f1": f1_score(gold, pred, zero_division=0)}
        rep = classification_report(gold, pred, output_dict=True, zero_division=0)
        c["per_type"] = {k: {"precision": v["precision"], "recall": v["recall"], "f1": v["f1-score"],
                             "support": int(v["support"])}
                         for k, v in rep.items() if k in TYPES}
        out.append(c)
    ver = getattr(seqeval, "__version__", None)
    if ver is None:
        try:
            from importlib.metadata import version
            ver = version("seqeval")
        except Exception:  # pragma: no cover
            ver = "unknown"
    return {"seqeval": ver, "cases": out}


def write(out_dir, res):
    with open(os.path.join(out_dir, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(res, f, ensure_ascii=False, default=float)


def generate(out_dir):
    try:
        import seqeval  # noqa: F401
        write(out_dir, compute())
        return
    except ImportError:
        pass
    py = os.environ.get("SEQEVAL_PYTHON", "/tmp/seqeval-venv/bin/python")
    if os.path.exists(py):
        subprocess.check_call([py, os.path.abspath(__file__), out_dir])
        return
    print("ner_seqeval: seqeval not found (pip install seqeval in a venv, set SEQEVAL_PYTHON); keeping the committed fixture")
    src = os.path.join(COMMITTED, "cases.json")
    if os.path.abspath(src) != os.path.abspath(os.path.join(out_dir, "cases.json")):
        with open(src, "rb") as f, open(os.path.join(out_dir, "cases.json"), "wb") as g:
            g.write(f.read())


if __name__ == "__main__":
    d = sys.argv[1] if len(sys.argv) > 1 else COMMITTED
    os.makedirs(d, exist_ok=True)
    write(d, compute())
