#!/usr/bin/python3
"""Independent reference for zeroclip's tokenizer (CLIPTokenizerFast semantics), standard library only.

Written from the specification, not from the C++ code:
  NFC -> whitespace runs to one space, strip -> lowercase with Python's str.lower (which applies
  Unicode's Final_Sigma rule, as OpenAI CLIP's own tokenizer does)
  -> <|startoftext|>/<|endoftext|> matched in the normalised text -> CLIP's split pattern
  's|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^\\s\\p{L}\\p{N}]+ (hand-written with unicodedata)
  -> UTF-8 bytes through bytes_to_unicode -> OpenAI's BPE loop, "</w>" on the last symbol.
Bytes that are not valid UTF-8 are decoded with errors="replace".

Check it against Hugging Face conformance data:
  /usr/bin/python3 scripts/reference_tokenizer.py --model-dir ../shared/conformance/models/tiny \
      --check ../shared/conformance/tokenizer.jsonl
"""
import argparse
import json
import sys
import unicodedata

START_TOKEN = "<|startoftext|>"
END_TOKEN = "<|endoftext|>"
CONTRACTIONS = ("s", "t", "re", "ve", "m", "ll", "d")
# Unicode's White_Space property (PropList.txt), i.e. what \s matches in a Unicode regex.
WHITE_SPACE = set(
    [chr(c) for c in range(0x09, 0x0E)]
    + [" ", "\x85", "\xa0", "\u1680"]
    + [chr(c) for c in range(0x2000, 0x200B)]
    + ["\u2028", "\u2029", "\u202f", "\u205f", "\u3000"]
)


def bytes_to_unicode():
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\xa1"), ord("\xac") + 1))
                 + list(range(ord("\xae"), ord("\xff") + 1)))
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def is_letter(c):
    return unicodedata.category(c).startswith("L")


def is_number(c):
    return unicodedata.category(c).startswith("N")


def normalize(text):
    text = unicodedata.normalize("NFC", text)
    collapsed = []
    for c in text:
        if c in WHITE_SPACE:
            if not collapsed or collapsed[-1] != " ":
                collapsed.append(" ")
        else:
            collapsed.append(c)
    text = "".join(collapsed).strip(" ")
    return text.lower()


def split_words(text):
    """Pieces matched by CLIP's pattern, scanning left to right; unmatched characters are dropped."""
    words = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "'":
            suffix = next((s for s in CONTRACTIONS if text.startswith(s, i + 1)), None)
            if suffix is not None:
                words.append("'" + suffix)
                i += 1 + len(suffix)
                continue
        if is_letter(c):
            j = i
            while j < len(text) and is_letter(text[j]):
                j += 1
        elif is_number(c):
            j = i + 1
        elif c not in WHITE_SPACE:
            j = i
            while j < len(text) and not (text[j] in WHITE_SPACE or is_letter(text[j]) or is_number(text[j])):
                j += 1
        else:
            i += 1
            continue
        words.append(text[i:j])
        i = j
    return words


class ReferenceTokenizer:
    def __init__(self, vocab_path, merges_path):
        with open(vocab_path, encoding="utf-8") as f:
            self.vocab = json.load(f)
        with open(merges_path, encoding="utf-8") as f:
            lines = [line for line in f.read().split("\n") if line and not line.startswith("#version")]
        self.ranks = {tuple(line.split(" ")): rank for rank, line in enumerate(lines)}
        self.byte_map = bytes_to_unicode()
        self.cache = {}

    def bpe(self, word):
        symbols = [self.byte_map[b] for b in word.encode("utf-8")]
        symbols[-1] += "</w>"
        while len(symbols) > 1:
            pairs = [(self.ranks.get(p, float("inf")), p) for p in zip(symbols, symbols[1:])]
            rank, best = min(pairs, key=lambda rp: rp[0])
            if rank == float("inf"):
                break
            merged = []
            i = 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    merged.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    merged.append(symbols[i])
                    i += 1
            symbols = merged
        return [self.vocab[s] for s in symbols]

    def encode(self, text):
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        text = normalize(text)
        ids = []
        while text:
            hits = [(text.find(t), t) for t in (START_TOKEN, END_TOKEN) if text.find(t) >= 0]
            if not hits:
                break
            pos, token = min(hits)
            ids += self.encode_plain(text[:pos])
            ids.append(self.vocab[token])
            text = text[pos + len(token):]
        return ids + self.encode_plain(text)

    def encode_plain(self, text):
        ids = []
        for word in split_words(text):
            if word not in self.cache:
                self.cache[word] = self.bpe(word)
            ids += self.cache[word]
        return ids

    def encode_for_model(self, text, context_length):
        body = self.encode(text)[: context_length - 2]
        return [self.vocab[START_TOKEN]] + body + [self.vocab[END_TOKEN]]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-dir", required=True, help="directory with vocab.json and merges.txt")
    parser.add_argument("--check", required=True, help="JSONL of {text, ids} cases to compare with")
    parser.add_argument("--golden", nargs="*", default=[], help="golden-*.json files (texts, input_ids)")
    args = parser.parse_args()
    tok = ReferenceTokenizer(f"{args.model_dir}/vocab.json", f"{args.model_dir}/merges.txt")
    matched = total = 0
    with open(args.check, encoding="utf-8") as f:
        for line in f:
            case = json.loads(line)
            total += 1
            if tok.encode(case["text"]) == case["ids"]:
                matched += 1
            else:
                print("mismatch:", json.dumps(case["text"]), file=sys.stderr)
    print(f"{args.check}: {matched}/{total}")
    ok = matched == total
    for path in args.golden:
        with open(path, encoding="utf-8") as f:
            golden = json.load(f)
        good = sum(tok.encode_for_model(t, 77) == ids for t, ids in zip(golden["texts"], golden["input_ids"]))
        print(f"{path}: {good}/{len(golden['texts'])}")
        ok = ok and good == len(golden["texts"])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
