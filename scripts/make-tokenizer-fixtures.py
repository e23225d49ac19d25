#!/usr/bin/env python3
"""Writes the token ids the Tokenizers tests compare against, produced by llama.cpp's own
tokenizer (llama-tokenize), never by our code.

Development-time only (never run by the tests):
    LLAMACPP_BIN=~/.cache/llamacpp-baseline/build/bin \
    python3 scripts/make-tokenizer-fixtures.py [MODEL.gguf] [REFERENCE.json]

MODEL defaults to ~/.cache/atelier/models/smollm2-135m.gguf. REFERENCE, when given (the project's
llamacpp-reference.json), adds its models.smollm2 tokenize cases and greedy prompts, checked
against llama-tokenize too. Writes Tests/TokenizersTests/Fixtures/smollm2-tokenize.json and
gpl3-ids.json (ids of Fixtures/GPL-3.txt, a verbatim copy of /usr/share/common-licenses/GPL-3).
"""
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(HERE, "..", "Tests", "TokenizersTests", "Fixtures")
GENERATOR = "llama-tokenize --ids --no-bos --no-escape (llama.cpp 0c1e57098, via llama-cpp-python 0.3.36)"

# (text, parse_special). Hard cases: accents, scripts, emoji (ZWJ, modifiers, flags), digits,
# whitespace runs, contractions, code, special-token text.
CASES = [
    ("Hello world", False),
    ("Héllo wörld, café naïve résumé Ångström", False),
    ("ÀÉÎÕÜ ñ ß ø å œ Ÿ", False),
    ("日本語のテキスト、中文测试。한국어 텍스트", False),
    ("Привет, мир! Ελληνικά", False),
    ("مرحبا بالعالم", False),
    ("नमस्ते दुनिया", False),
    ("Emoji: 😀👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 ❤️", False),
    ("🦙", False),
    ("12345 3.14159 1,000,000 -42 0.5e-10", False),
    ("½ ² ٣ Ⅻ", False),
    ("\n\n\n", False),
    ("trailing spaces   ", False),
    ("   ", False),
    (" ", False),
    ("\t", False),
    ("tabs\tand\t\ttabs\t", False),
    ("a\r\nb\r\n\r\nc", False),
    ("Hello  world   with    runs", False),
    ("\u00a0non-breaking\u2003em space\u3000ideographic", False),
    ("def f(x):\n    return x**2  # square\n\n\nprint(f(3))\n", False),
    ("if (a != b && c <= d) { x += 1; } // done", False),
    ("don't I'll we've she'd they're it's I'M DON'T 'hello' rock'n'roll", False),
    ("$100 + 50% = <3 ^_^ ~~> || `code` @user #tag", False),
    ("zero\u200dwidth joiner and combining e\u0301 vs \u00e9", False),
    ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", False),
    ("supercalifragilisticexpialidocious antidisestablishmentarianism", False),
    ("<|im_start|>user\nHi<|im_end|>", False),
    ("<|im_start|>user\nHi<|im_end|>", True),
    ("<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>assistant\n", True),
    ("<|im_start|><|im_end|><|endoftext|>", True),
    ("<<|im_start|>|> <|im_end|x", True),
    ("text<|endoftext|>more", False),
    ("text<|endoftext|>more", True),
    ("<reponame>r<file_sep>f<jupyter_code>c", True),
]


def tokenize(bin_dir, model, text, parse_special, path=None):
    cmd = [os.path.join(bin_dir, "llama-tokenize"), "-m", model, "--ids", "--log-disable",
           "--no-bos", "--no-escape"] + ([] if parse_special else ["--no-parse-special"])
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
    model = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/atelier/models/smollm2-135m.gguf")
    cases = [{"text": t, "parse_special": p, "source": "llama-tokenize"} for t, p in CASES]

    if len(sys.argv) > 2:
        ref = json.load(open(sys.argv[2]))["models"]["smollm2"]
        for c in ref["tokenize"]:
            cases.append({"text": c["text"], "parse_special": False, "source": "reference", "ids": c["ids_no_bos"]})
        for g in ref["greedy"]:
            cases.append({"text": g["prompt"], "parse_special": False, "source": "reference", "ids": g["prompt_ids"]})

    for c in cases:
        ids = tokenize(bin_dir, model, c["text"], c["parse_special"])
        if "ids" in c and c["ids"] != ids:
            sys.exit(f"reference disagrees with llama-tokenize for {c['text']!r}: {c['ids']} vs {ids}")
        c["ids"] = ids

    os.makedirs(FIXTURES, exist_ok=True)
    with open(os.path.join(FIXTURES, "smollm2-tokenize.json"), "w") as f:
        json.dump({"model": "smollm2-135m", "generator": GENERATOR,
                   "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")

    gpl = os.path.join(FIXTURES, "GPL-3.txt")
    shutil.copyfile("/usr/share/common-licenses/GPL-3", gpl)
    ids = tokenize(bin_dir, model, None, False, path=gpl)
    with open(os.path.join(FIXTURES, "gpl3-ids.json"), "w") as f:
        json.dump({"file": "GPL-3.txt", "bytes": os.path.getsize(gpl), "ids": ids}, f)
        f.write("\n")
    print(f"{len(cases)} cases; GPL-3: {len(ids)} tokens")


if __name__ == "__main__":
    main()
