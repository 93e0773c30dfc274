#!/usr/bin/python3
"""Reference BERT tokenizer for parity tests: a re-implementation (written for
retort, not copied) of the upstream algorithm of BERT tokenization.py,
in the TinyBERT / NEZHA-PyTorch flavour: BasicTokenizer with never_split
specials, WordPiece with max_input_chars_per_word = 100, unknown tokens -> [UNK].

Usage as a script:  ref_tokenizer.py VOCAB [--cased] < text  (one line of tokens per line)
"""
import sys
import unicodedata

NEVER_SPLIT = ("[UNK]", "[SEP]", "[PAD]", "[CLS]", "[MASK]")

# CJK Unified Ideographs and their extensions/compatibility blocks, as upstream.
CJK_RANGES = (
    (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F),
    (0x2B740, 0x2B81F), (0x2B820, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F),
)


def read_vocab(path):
    """token -> id, id = line number (0-based); tokens strip()ped; last duplicate wins."""
    vocab = {}
    with open(path, "r", encoding="utf-8") as f:
        for i, line in enumerate(iter(f.readline, "")):
            vocab[line.strip()] = i
    return vocab


def is_space(ch):
    if ch in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(ch) == "Zs"


def is_ctrl(ch):
    if ch in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(ch) in ("Cc", "Cf")


def is_punc(ch):
    o = ord(ch)
    if 33 <= o <= 47 or 58 <= o <= 64 or 91 <= o <= 96 or 123 <= o <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def is_cjk(o):
    return any(lo <= o <= hi for lo, hi in CJK_RANGES)


def split_ws(text):
    text = text.strip()
    return text.split() if text else []


class Basic:
    def __init__(self, lower=True, never_split=NEVER_SPLIT):
        self.lower = lower
        self.never = set(never_split)

    def clean(self, text):
        out = []
        for ch in text:
            o = ord(ch)
            if o == 0 or o == 0xFFFD or is_ctrl(ch):
                continue
            out.append(" " if is_space(ch) else ch)
        return "".join(out)

    def space_cjk(self, text):
        out = []
        for ch in text:
            if is_cjk(ord(ch)):
                out.extend((" ", ch, " "))
            else:
                out.append(ch)
        return "".join(out)

    @staticmethod
    def strip_accents(tok):
        return "".join(c for c in unicodedata.normalize("NFD", tok)
                       if unicodedata.category(c) != "Mn")

    def split_punc(self, tok):
        if tok in self.never:
            return [tok]
        pieces, cur = [], []
        for ch in tok:
            if is_punc(ch):
                if cur:
                    pieces.append("".join(cur))
                    cur = []
                pieces.append(ch)
            else:
                cur.append(ch)
        if cur:
            pieces.append("".join(cur))
        return pieces

    def tokenize(self, text):
        text = self.space_cjk(self.clean(text))
        out = []
        for tok in split_ws(text):
            if self.lower and tok not in self.never:
                tok = self.strip_accents(tok.lower())
            out.extend(self.split_punc(tok))
        return split_ws(" ".join(out))


class WordPiece:
    def __init__(self, vocab, unk="[UNK]", max_chars=100):
        self.vocab, self.unk, self.max_chars = vocab, unk, max_chars

    def tokenize(self, text):
        out = []
        for word in split_ws(text):
            if len(word) > self.max_chars:
                out.append(self.unk)
                continue
            pieces, start, ok = [], 0, True
            while start < len(word):
                end, hit = len(word), None
                while start < end:
                    sub = word[start:end]
                    if start > 0:
                        sub = "##" + sub
                    if sub in self.vocab:
                        hit = sub
                        break
                    end -= 1
                if hit is None:
                    ok = False
                    break
                pieces.append(hit)
                start = end
            out.extend(pieces if ok else [self.unk])
        return out


class FullTokenizer:
    def __init__(self, vocab_path, lower=True):
        self.vocab = read_vocab(vocab_path)
        self.basic = Basic(lower)
        self.wp = WordPiece(self.vocab)

    def tokenize(self, text):
        return [p for w in self.basic.tokenize(text) for p in self.wp.tokenize(w)]

    def ids(self, tokens):
        unk = self.vocab.get("[UNK]")
        return [self.vocab.get(t, unk) for t in tokens]


def main():
    lower = "--cased" not in sys.argv
    tok = FullTokenizer(sys.argv[1], lower)
    for line in sys.stdin.buffer:
        print(" ".join(tok.tokenize(line.decode("utf-8", "ignore").rstrip("\n"))))


if __name__ == "__main__":
    main()
