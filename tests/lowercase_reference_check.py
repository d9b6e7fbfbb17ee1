#!/usr/bin/python3
"""Fuzzes the tokenizer's lowercasing against Python's str.lower (NFC first, as the tokenizer
does): for every assigned code point c, the texts "Α" c "Σ", c "Σ" and "ΑΣ" c, which decide
whether c is cased or case-ignorable for Unicode's Final_Sigma rule, plus random short mixes,
must tokenize exactly as their Python lowercase does. Byte-level BPE is injective, so equal ids
mean equal normalised text. Exit 0 when all agree, 1 naming the first disagreements.

usage: lowercase_reference_check.py ZEROCLIP MODEL_DIR
"""
import json
import random
import subprocess
import sys
import tempfile
import unicodedata


def testable(c):
    # One text per line: no line breaks or other whitespace (the tokenizer drops whitespace).
    return unicodedata.category(c) not in ("Cn", "Co", "Cs", "Cc", "Zl", "Zp", "Zs") and not c.isspace()


def tokenize(zeroclip, model, texts):
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt") as f:
        f.write("\n".join(texts) + "\n")
        f.flush()
        out = subprocess.run([zeroclip, "tokenize", "-m", model, "--file", f.name], check=True,
                             capture_output=True, text=True).stdout
    return json.loads(out)


def main():
    zeroclip, model = sys.argv[1], sys.argv[2]
    chars = [chr(cp) for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF and testable(chr(cp))]
    texts = []
    for c in chars:
        texts += ["Α" + c + "Σ", c + "Σ", "ΑΣ" + c]
    rng = random.Random(1)
    pool = [c for c in chars if ord(c) < 0x3000] + ["Σ"] * 200
    texts += ["".join(rng.choice(pool) for _ in range(rng.randint(1, 6))) for _ in range(20000)]
    texts = [unicodedata.normalize("NFC", t) for t in texts]
    # zeroclip tokenizes the reference again, NFC first: keep the texts whose lowercase is
    # already NFC (lowercasing can make a composable pair, as in "Α\u0342Σ" -> "α\u0342ς").
    texts = [t for t in texts if unicodedata.normalize("NFC", t.lower()) == t.lower()]
    references = [t.lower() for t in texts]
    got, want = tokenize(zeroclip, model, texts), tokenize(zeroclip, model, references)
    bad = [(t, r) for t, r, a, b in zip(texts, references, got, want) if a != b]
    print(f"{len(texts) - len(bad)} / {len(texts)} texts lowercase as Python {sys.version.split()[0]} "
          f"(Unicode {unicodedata.unidata_version}) does")
    for t, r in bad[:10]:
        print("  differs:", ascii(t), "->", ascii(r))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
