#!/usr/bin/env bash
# Builds and runs the libFuzzer target for the chat-template interpreter (docs/FUZZING.md).
# Usage: scripts/fuzz-template.sh [SECONDS] [extra libFuzzer flags…]   (default 600 s)
# Corpus: Fuzz/bin/template-corpus (git-ignored like the binary), seeded with every fixture template
# and a few hostile snippets; crashes: Fuzz/crashes/template-*; dictionary: Fuzz/jinja.dict.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"; shift || true
mkdir -p Fuzz/bin/template-corpus Fuzz/crashes
swiftc -O -swift-version 6 -sanitize=fuzzer,address -parse-as-library -module-name ChatTemplatesFuzz \
  Sources/ChatTemplates/*.swift Fuzz/ChatTemplateFuzz.swift -o Fuzz/bin/template-fuzz
python3 - <<'PY'
import glob, json, os
corpus = "Fuzz/bin/template-corpus"
for path in glob.glob("Tests/ChatTemplatesTests/Fixtures/*.json"):
    with open(path) as f:
        template = json.load(f)["template"]
    with open(f"{corpus}/{os.path.basename(path)[:-5]}.jinja", "w") as out:
        out.write(template)
hostile = [
    "{{ (-9223372036854775807-1)|abs }}", "{{ 1e300|int }}", "{{ 'x'*10**18 }}", "{{ [1]*10**12 }}",
    "{% for i in range(10**9) %}{% endfor %}", "{{ range(9223372036854775800, 9223372036854775807)|list }}",
    "{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
    "{% set ns = namespace(x=[]) %}{% for m in messages %}{% set ns.x = [ns.x, m] %}{% endfor %}{{ ns.x|tojson(indent=2) }}",
    "{{ messages|map(attribute='content')|join(', ') }}{{ 'a b'.split(' ')|length is divisibleby(2) }}",
]
for i, text in enumerate(hostile):
    with open(f"{corpus}/hostile-{i}.jinja", "w") as out:
        out.write(text)
PY
exec Fuzz/bin/template-fuzz Fuzz/bin/template-corpus -dict=Fuzz/jinja.dict -artifact_prefix=Fuzz/crashes/template- \
  -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "$@"
