#!/usr/bin/python3
"""Writes tests/fixtures/tokenizer/: a small CLIP tokenizer and the ids expected from it.

vocab.json / merges.txt use the first MERGES merges of OpenAI CLIP's BPE, built the way Hugging
Face builds the full vocabulary: the 256 byte symbols, the same with "</w>", one token per merge,
then <|startoftext|> and <|endoftext|>. expected.jsonl holds, for each test text, the ids from
scripts/reference_tokenizer.py (encode, and encode_for_model with context length 77).

  /usr/bin/python3 scripts/make_tokenizer_fixture.py [--bpe ../shared/clip/bpe_simple_vocab_16e6.txt.gz]
"""
import argparse
import gzip
import json
import os

from reference_tokenizer import ReferenceTokenizer, bytes_to_unicode

MERGES = 2000
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "tokenizer")

TEXTS = [
    "", "   ", "\t\n", "a", "A",
    "a photo of a cat.", "A PHOTO of the   garbage\ttruck\n", "  leading and trailing  ",
    "Hello, World!", "what?!... no way!!!", "(parentheses) [brackets] {braces} <angles>",
    "e-mail: someone@example.com, url: https://example.org/a_b?c=d&e=f#g",
    "it's what they'll've done", "DON'T STOP, I'M HERE, WE'RE OK, YOU'VE, HE'D, SHE'LL",
    "''s '' 's' rock'n'roll o'clock 'twas", "'", "l'été",
    "0 7 42 2024 3.14159 1,000,000 -5 +6 1e9", "²³ ½ Ⅻ ٣٤ ४२",
    "naïve café", "Ünïcödé Façade", "e\u0301 o\u0308 A\u030a (decomposed accents)",
    "\u1100\u1161\u11a8 decomposed hangul", "ﬁne ﬂour (ligatures stay)",
    "straße", "İstanbul", "ΟΔΥΣΣΕΥΣ ΣΟΦΟΣ", "Ελληνικά", "русский ТЕКСТ", "ǅungla ǈ",
    "日本語のテキスト", "中文 标签 测试", "한국어 사진", "עברית العربية", "हिन्दी",
    "emoji 🐶🐱🚒", "👍🏽 thumbs", "👨‍👩‍👧 family", "🇫🇷 flag", "❤️ heart",
    "a\xa0b\u2003c\u3000d\u2028e\x85f", "tab\tand\u200bzero-width", "nul\x00byte and \x07bell",
    "fullwidth ＡＢＣ １２３", "“curly quotes” and ‘single’", "ellipsis… and — dashes", "math ∑ ∫ √ ∞ ≠",
    "<|startoftext|> in text <|endoftext|>", "<|ENDOFTEXT|>upper", "hello<|endoftext|>world",
    "!<|startoftext|>!", "<|<|endoftext|>|>", "<|endoftext|", "<|startoftext|><|endoftext|>",
    "x" * 200, "supercalifragilisticexpialidocious antidisestablishmentarianism",
    " ".join(["word"] * 100),
    "a photo of " + ", ".join(f"item {i}" for i in range(40)),
]

# Byte strings that are not valid UTF-8 (stored as hex): decoded with U+FFFD replacement.
INVALID_UTF8 = [
    b"caf\xe9", b"\xff\xfe bytes", b"trunc \xe2\x82", b"\xe2\x82a", b"surrogate \xed\xa0\x80",
    b"overlong \xc0\xaf \xe0\x80\xaf", b"too big \xf4\x90\x80\x80", b"\x80\x80 stray continuations",
    b"\xf0\x9f\x90 cut emoji",
]


def write_fixture(bpe_path):
    with gzip.open(bpe_path, "rt", encoding="utf-8") as f:
        merges = f.read().split("\n")[1 : MERGES + 1]
    symbols = list(bytes_to_unicode().values())
    tokens = symbols + [s + "</w>" for s in symbols] + ["".join(m.split(" ")) for m in merges]
    tokens += ["<|startoftext|>", "<|endoftext|>"]
    assert len(set(tokens)) == len(tokens)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(tokens)}, f, ensure_ascii=False)
    with open(os.path.join(OUT, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")


def write_expected():
    tok = ReferenceTokenizer(os.path.join(OUT, "vocab.json"), os.path.join(OUT, "merges.txt"))
    with open(os.path.join(OUT, "expected.jsonl"), "w", encoding="utf-8") as f:
        for text in TEXTS + INVALID_UTF8:
            row = {"bytes_hex": text.hex()} if isinstance(text, bytes) else {"text": text}
            row["ids"] = tok.encode(text)
            row["input_ids_77"] = tok.encode_for_model(text, 77)
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bpe", default=os.path.join(HERE, "..", "..", "shared", "clip", "bpe_simple_vocab_16e6.txt.gz"))
    args = parser.parse_args()
    write_fixture(args.bpe)
    write_expected()


if __name__ == "__main__":
    main()
