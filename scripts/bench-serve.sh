#!/usr/bin/env bash
# Serving throughput, --parallel 1 against --parallel N, same model, same 32 streaming clients.
# usage: [ATELIER=binary] scripts/bench-serve.sh [MODEL] [N] [REPEATS] [MAX_TOKENS]   (default binary: .build/release/atelier)
# Each repetition starts a one-slot server, measures, stops it, then does the same with N slots, so
# the two numbers of a pair are taken a few seconds apart: on a shared VM the one-slot column moves
# with the memory bandwidth the neighbours leave, and alternating keeps that drift out of the ratio.
# Prints each pair's ratio and the median.
set -euo pipefail
cd "$(dirname "$0")/.."
atelier=${ATELIER:-.build/release/atelier}
model=${1:-smollm2-135m}; n=${2:-4}; repeats=${3:-2}; max_tokens=${4:-32}
measure() {
  local parallel=$1 port=$((18300 + $1))
  "$atelier" serve "$model" --port "$port" --parallel "$parallel" --api-key bench -c 1024 > /dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 50); do curl -s "localhost:$port/health" > /dev/null 2>&1 && break; sleep 0.2; done
  python3 scripts/serve-throughput.py "$port" bench 32 "$max_tokens" | awk '{print $(NF-1)}'
  kill -TERM "$pid"; wait "$pid" || true
}
ratios=()
for _ in $(seq "$repeats"); do
  one=$(measure 1); many=$(measure "$n")
  ratio=$(python3 -c "print(f'{$many / $one:.2f}')")
  ratios+=("$ratio")
  echo "--parallel 1: $one tokens/s   --parallel $n: $many tokens/s   ratio ${ratio}x"
done
python3 -c "import statistics, sys; print(f'median ratio {statistics.median(map(float, sys.argv[1:])):.2f}x over {len(sys.argv) - 1} pairs')" "${ratios[@]}"
