#!/usr/bin/env bash
# Runs llama-bench and `atelier bench` back to back on the same GGUF files and prints the ratios.
# Usage: LLAMACPP_BIN=/path/to/llama.cpp/build/bin scripts/bench-vs-llamacpp.sh [MODEL…]
#   MODEL: a store name (default: smollm2-135m gemma3-270m). THREADS (default 2), P (512), N (128), R (3).
#   Also: peak RSS generating N tokens at -c 2048, and time from process start to the first
#   generated token (a whole `-n 1` run, best of 3, weights in the page cache; llama.cpp with its
#   default warm-up, as a user runs it). CTX (2048) sets the context for the RSS runs.
# ../shared/tools/llamacpp-baseline.sh builds the baseline and prints its bin directory.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${LLAMACPP_BIN:?set LLAMACPP_BIN to the llama.cpp build/bin directory}"
threads="${THREADS:-2}"; p="${P:-512}"; n="${N:-128}"; r="${R:-3}"
store="${ATELIER_HOME:-$HOME/.cache/atelier}/models"
swift build -c release >/dev/null
models=("$@"); [ ${#models[@]} -gt 0 ] || models=(smollm2-135m gemma3-270m)
printf '%-14s %-6s %15s %15s %7s\n' model test llama.cpp atelier ratio
for m in "${models[@]}"; do
  .build/release/atelier pull "$m" >/dev/null 2>&1 || true
  file="$store/$m.gguf"
  tmp=$(mktemp -d)
  "$LLAMACPP_BIN/llama-bench" -m "$file" -t "$threads" -p "$p" -n "$n" -r "$r" -o json 2>/dev/null > "$tmp/llama.json"
  .build/release/atelier bench "$m" -t "$threads" -p "$p" -n "$n" -r "$r" --json > "$tmp/atelier.json"
  python3 - "$m" "$tmp/llama.json" "$tmp/atelier.json" <<'PY'
import json, sys
model, llama_path, ours_path = sys.argv[1:4]
llama = json.load(open(llama_path))
results = {x["test"]: x for x in json.load(open(ours_path))}
for row in llama:
    test = f"pp{row['n_prompt']}" if row["n_gen"] == 0 else f"tg{row['n_gen']}"
    if test in results:
        ours = results[test]
        line = f"{model:<14} {test:<6} {row['avg_ts']:8.2f} ±{row['stddev_ts']:5.2f} {ours['mean']:8.2f} ±{ours['standardDeviation']:5.2f} {ours['mean'] / row['avg_ts']:6.2f}x"
        if "rooflineFraction" in ours:
            bw, per_token = ours["bandwidthBytesPerSecond"], ours["bytesPerToken"]
            line += (f"   roofline {bw / per_token:.0f} t/s ({bw / 1e9:.1f} GB/s, {per_token / 2**20:.1f} MiB/token):"
                     f" Atelier {100 * ours['rooflineFraction']:.0f}%, llama.cpp {100 * row['avg_ts'] * per_token / bw:.0f}%")
        print(line)
PY
  ctx="${CTX:-2048}"
  prompt="The capital of France is"
  measure() { /usr/bin/time -f "%e %M" "$@" >/dev/null 2>"$tmp/time" || true; tail -1 "$tmp/time"; }
  llama_rss=$(measure "$LLAMACPP_BIN/llama-completion" -m "$file" -p "$prompt" -c "$ctx" -n "$n" -t "$threads" -no-cnv --temp 0 | cut -d' ' -f2)
  ours_rss=$(measure .build/release/atelier run "$m" "$prompt" --ctx "$ctx" -n "$n" -t "$threads" --temp 0 | cut -d' ' -f2)
  best() { local b=999; for _ in 1 2 3; do t=$(measure "$@" | cut -d' ' -f1); b=$(python3 -c "print(min($b, $t))"); done; echo "$b"; }
  llama_ttft=$(best "$LLAMACPP_BIN/llama-completion" -m "$file" -p "$prompt" -n 1 -t "$threads" -no-cnv --temp 0)
  ours_ttft=$(best .build/release/atelier run "$m" "$prompt" -n 1 -t "$threads" --temp 0)
  python3 - "$m" "$llama_rss" "$ours_rss" "$llama_ttft" "$ours_ttft" "$ctx" <<'PY'
import sys
model, lr, orr, lt, ot, ctx = sys.argv[1:7]
print(f"{model:<14} {'RSS c' + ctx:<6} {int(lr) / 1024:9.1f} MiB {int(orr) / 1024:8.1f} MiB {int(orr) / int(lr):6.2f}x")
print(f"{model:<14} {'TTFT':<6} {float(lt):10.2f} s {float(ot):10.2f} s {float(ot) / float(lt):6.2f}x")
PY
  rm -rf "$tmp"
done
