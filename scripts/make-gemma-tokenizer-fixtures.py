#!/usr/bin/env python3
"""Writes the Gemma 3 (SentencePiece, tokenizer.ggml.model = "llama") token ids the Tokenizers
tests compare against, produced by llama.cpp's own tokenizer (llama-tokenize), never by our code.

Development-time only (never run by the tests):
    LLAMACPP_BIN=~/.cache/llamacpp-baseline/build/bin \
    python3 scripts/make-gemma-tokenizer-fixtures.py [MODEL.gguf] [REFERENCE.json]

MODEL defaults to ~/.cache/atelier/models/gemma3-270m.gguf. REFERENCE, when given (the project's
llamacpp-reference.json), adds its models.gemma3 tokenize cases and greedy prompts (ids with BOS),
each checked against llama-tokenize too. Writes Tests/TokenizersTests/Fixtures/gemma3-tokenize.json
(cases, plus "gpl3_ids": the ids of Fixtures/GPL-3.txt without BOS).
"""
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Tests", "TokenizersTests", "Fixtures")
GENERATOR = "llama-tokenize --ids --no-escape [--no-bos] [--no-parse-special] (llama.cpp baseline build)"

# (text, parse_special, add_bos). Hard cases: accents, scripts, emoji (ZWJ, modifiers, flags),
# digits, whitespace runs, code, special-token text, and characters Gemma's vocabulary lacks
# (byte fallback).
CASES = [
    ("Hello world", False, False),
    ("Hello world", False, True),
    (" Hello", False, False),
    ("Héllo wörld, café naïve résumé Ångström", False, False),
    ("ÀÉÎÕÜ ñ ß ø å œ Ÿ", False, False),
    ("日本語のテキスト、中文测试。한국어 텍스트", False, False),
    ("Привет, мир! Ελληνικά", False, False),
    ("مرحبا بالعالم", False, False),
    ("नमस्ते दुनिया", False, False),
    ("Emoji: 😀👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️", False, False),
    ("🦙", False, False),
    ("🫠🪿🧌", False, False),
    ("12345 3.14159 1,000,000 -42 0.5e-10", False, False),
    ("½ ² ٣ Ⅻ", False, False),
    ("\n\n\n", False, False),
    ("\n", False, False),
    ("trailing spaces   ", False, False),
    ("   ", False, False),
    (" ", False, False),
    ("\t", False, False),
    ("tabs\tand\t\ttabs\t", False, False),
    ("a\r\nb\r\n\r\nc", False, False),
    ("Hello  world   with    runs                                  end", False, False),
    ("\u00a0non-breaking\u2003em space\u3000ideographic", False, False),
    ("def f(x):\n    return x**2  # square\n\n\nprint(f(3))\n", False, False),
    ("if (a != b && c <= d) { x += 1; } // done", False, False),
    ("don't I'll we've she'd they're it's I'M DON'T 'hello' rock'n'roll", False, False),
    ("$100 + 50% = <3 ^_^ ~~> || `code` @user #tag", False, False),
    ("zero\u200dwidth joiner and combining e\u0301 vs \u00e9", False, False),
    ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", False, False),
    ("supercalifragilisticexpialidocious antidisestablishmentarianism", False, False),
    ("▁already▁escaped ▁", False, False),
    ("<start_of_turn>user\nHi<end_of_turn>", False, False),
    ("<start_of_turn>user\nHi<end_of_turn>", True, False),
    ("<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n", True, True),
    ("<bos><eos><pad><unk><mask>", True, False),
    ("<bos><eos><pad><unk><mask>", False, False),
    ("text<eos>more", True, False),
    ("text<eos>more", False, False),
    ("<<start_of_turn>> <end_of_turn", True, False),
    # Characters outside Gemma's vocabulary: byte fallback.
    ("\U00020000\U0002A6D6 \U00012000 \U00010000 \ue000\U000F0000", False, False),
    ("Unicode 16 emoji: 🫩🪾🫆 🧑🏿‍🦯‍➡️", False, False),
    ("ctrl\u0001\u0002\u007f\u0080 bell\u0007", False, False),
]


def tokenize(bin_dir, model, text, parse_special, add_bos, path=None):
    cmd = [os.path.join(bin_dir, "llama-tokenize"), "-m", model, "--ids", "--log-disable", "--no-escape"]
    if not add_bos:
        cmd.append("--no-bos")
    if not parse_special:
        cmd.append("--no-parse-special")
    if path:
        cmd += ["-f", path]
        inp = None
    else:
        cmd += ["--stdin"]
        inp = text.encode("utf-8")
    out = subprocess.run(cmd, input=inp, capture_output=True, check=True).stdout.decode()
    lines = [l for l in out.splitlines() if l.startswith("[")]
    return json.loads(lines[-1])


def main():
    bin_dir = os.environ.get("LLAMACPP_BIN")
    if not bin_dir:
        sys.exit("set LLAMACPP_BIN to the directory holding llama-tokenize")
    model = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/atelier/models/gemma3-270m.gguf")
    cases = [{"text": t, "parse_special": p, "add_bos": b, "source": "llama-tokenize"} for t, p, b in CASES]

    if len(sys.argv) > 2:
        ref = json.load(open(sys.argv[2]))["models"]["gemma3"]
        for c in ref["tokenize"]:
            cases.append({"text": c["text"], "parse_special": False, "add_bos": True, "source": "reference",
                          "ids": c["ids"], "pieces": c["pieces"]})
        for g in ref["greedy"]:
            cases.append({"text": g["prompt"], "parse_special": False, "add_bos": True, "source": "reference",
                          "ids": g["prompt_ids"]})

    for c in cases:
        ids = tokenize(bin_dir, model, c["text"], c["parse_special"], c["add_bos"])
        if "ids" in c and c["ids"] != ids:
            sys.exit(f"reference disagrees with llama-tokenize for {c['text']!r}: {c['ids']} vs {ids}")
        c["ids"] = ids

    gpl = os.path.join(FIXTURES, "GPL-3.txt")
    gpl_ids = tokenize(bin_dir, model, None, False, False, path=gpl)
    os.makedirs(FIXTURES, exist_ok=True)
    # One case per line; the GPL-3 ids on one line.
    def line(v):
        return json.dumps(v, ensure_ascii=False)
    with open(os.path.join(FIXTURES, "gemma3-tokenize.json"), "w") as f:
        f.write("{\n")
        f.write(f' "model": "gemma3-270m",\n "generator": {line(GENERATOR)},\n "cases": [\n')
        f.write(",\n".join("  " + line(c) for c in cases))
        f.write(f'\n ],\n "gpl3_file": "GPL-3.txt",\n "gpl3_bytes": {os.path.getsize(gpl)},\n')
        f.write(f' "gpl3_ids": {line(gpl_ids)}\n}}\n')
    print(f"{len(cases)} cases; GPL-3: {len(gpl_ids)} tokens")


if __name__ == "__main__":
    main()
