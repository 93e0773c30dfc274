"""Golden tokens/ids from scripts/ref_tokenizer.py (the reference re-implementation
of the upstream tokenizer) for every text line of the seed ChnSentiCorp, MRPC and
sample_text files plus hard cases, with both seed vocabularies:
  cn = nezha-cn-base/vocab.txt, lower-cased;  en = nezha-en-base/vocab.txt, cased.
Writes tokenizer/cases.tsv: hex(utf-8 text) \t cn tokens \t cn ids \t en tokens \t en ids
(tokens and ids space-separated)."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import ref_tokenizer  # noqa: E402

SEED = os.environ.get("RETORT_SEED", os.path.join(HERE, "..", "..", "..", "shared", "seed"))

HARD = [
    "", " ", "\t\n\r", "\u3000", "\u2028", "a\u2028b", "a\u2029b", "x\u0085y", "a\u00a0b",
    "Hello, World! naïve café 123abc", "UNwant\u00e9d,running", "unwantedX running",
    "Ångström résumé façade Ελληνικά ΟΔΟΣ ὈΔΥΣΣΕΎΣ İstanbul ǅemal",
    "Straße ẞ ﬁ ﬀ Æsir œuvre", "crème brûlée — “quoted” ‘single’ «guillemets»",
    "中文English混合mixed文本123数字", "我爱北京天安门。UNwanted running",
    "全角ＡＢＣ１２３！？，。：；（）", "ｈｅｌｌｏ　ｗｏｒｌｄ", "半角ｶﾀｶﾅ ひらがな カタカナ 한국어 텍스트",
    "!!!???...,,,;;;:::---___***", "a.b.c", "(((nested)))", "$100.00 & 50% off @home #tag ~tilde ^caret |pipe",
    "\x00a\x00b\x00", "a\ufffdb", "\x01\x02\x03text\x7f\x1b[0m", "zero\u200bwidth\u200djoiner\u200c",
    "soft\u00adhyphen", "bidi\u202emark\u202c", "\ufeffbom at start",
    "x" * 100, "y" * 101, "z" * 250, "中" * 120, "ab" * 60 + " short",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "😀 emoji 👍🏽 family 👨‍👩‍👧 flags 🇨🇳🇺🇸", "🀄🃏♠♣♥♦", "math ∑∫√∞≠≤≥ ± × ÷",
    "[CLS] a [SEP] b [SEP]", "[MASK] [mask] [UNK] [unk] [PAD]", "[CLS]glued [SEP]", "[foo] [Bar]",
    "e\u0301 combining e\u0301\u0300 a\u0308", "\u0301leading mark", "中\u0301", "ᴵᴺᵀᵃছজটডণত",
    "力加勝北区", "𠀀𠀁𪜀𫝀𫠠𬺰 extension chars", "\uf900\ufa0e compat ideographs", "㐀㐁 ext A",
    "Ⅻ ① ⑴ ⒜ ㈠ ㊀", "ℌ ℍ ℕ ℤ ℵ", "Ⓐ ⓐ", "ﾃｽﾄ", "Hangul 가각 가", "Ǆ ǅ ǆ Ǉ",
    "tab\tseparated\tvalues", "line\nbreaks\r\nhere", "multiple     spaces",
    "don't can't won't", "e-mail co-operate", "http://example.com/path?q=1&r=2#frag",
    "user@example.com", "3.14159 2,718 1e-10", "C++ C# F# .NET", "<html><body>hi</body></html>",
    "日本語の文章です。", "Ελληνικά κείμενα", "Русский текст Ёё", "עברית", "العربية", "हिन्दी",
    "ไทย", "Tiếng Việt có dấu", "ΣΑΣ σας Σ", "ΑΣ.", "İI ıi",
]


def files():
    for rel in ("chnsenti/train.tsv", "chnsenti/dev.tsv", "mrpc/train.tsv", "mrpc/dev.tsv",
                "pretrain-toy/sample_text.txt"):
        with open(os.path.join(SEED, rel), "rb") as f:
            for line in f.read().split(b"\n"):
                yield line.rstrip(b"\r").decode("utf-8", "ignore")


def generate(out_dir):
    cn = ref_tokenizer.FullTokenizer(os.path.join(SEED, "nezha-cn-base", "vocab.txt"), lower=True)
    en = ref_tokenizer.FullTokenizer(os.path.join(SEED, "nezha-en-base", "vocab.txt"), lower=False)
    rows = []
    for text in list(files()) + HARD:
        row = [text.encode("utf-8").hex()]
        for tok in (cn, en):
            t = tok.tokenize(text)
            row += [" ".join(t), " ".join(str(i) for i in tok.ids(t))]
        rows.append("\t".join(row))
    with open(os.path.join(out_dir, "cases.tsv"), "w", encoding="utf-8") as f:
        f.write("\n".join(rows) + "\n")
