#!/usr/bin/env bash
# Builds and runs the libFuzzer target for the GGUF reader.
# Usage: scripts/fuzz-gguf.sh [SECONDS] [extra libFuzzer flags…]   (default 600 s)
# Corpus: Fuzz/corpus (seeded with the test fixture and small generated files); crashes: Fuzz/crashes.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"; shift || true
mkdir -p Fuzz/bin Fuzz/corpus Fuzz/crashes
swiftc -O -sanitize=fuzzer,address -parse-as-library -module-name GGUFFuzz \
  Sources/GGUF/*.swift Fuzz/GGUFReaderFuzz.swift -o Fuzz/bin/gguf-fuzz
# Seeds: a gguf-py-written file, plus the first 64 KiB of each real model that is in the store.
cp -f Tests/GGUFTests/Fixtures/gguf-py-small.gguf Fuzz/corpus/ 2>/dev/null || true
for m in "${ATELIER_HOME:-$HOME/.cache/atelier}"/models/*.gguf; do
  [ -f "$m" ] && head -c 65536 "$m" > "Fuzz/corpus/$(basename "$m").head"
done
exec Fuzz/bin/gguf-fuzz Fuzz/corpus -artifact_prefix=Fuzz/crashes/ -max_total_time="$seconds" \
  -max_len=65536 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "$@"
