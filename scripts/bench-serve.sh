#!/usr/bin/env bash
# Serving throughput, --parallel 1 against --parallel N, same model, same 32 streaming clients.
# usage: [ATELIER=binary] scripts/bench-serve.sh [MODEL] [N] [REPEATS] [MAX_TOKENS]   (default binary: .build/release/atelier)
set -euo pipefail
cd "$(dirname "$0")/.."
atelier=${ATELIER:-.build/release/atelier}
model=${1:-smollm2-135m}; n=${2:-4}; repeats=${3:-2}; max_tokens=${4:-32}
for parallel in 1 "$n"; do
  port=$((18300 + parallel))
  "$atelier" serve "$model" --port "$port" --parallel "$parallel" --api-key bench -c 1024 > /dev/null 2>&1 &
  pid=$!
  for _ in $(seq 50); do curl -s "localhost:$port/health" > /dev/null 2>&1 && break; sleep 0.2; done
  for _ in $(seq "$repeats"); do echo -n "--parallel $parallel: "; python3 scripts/serve-throughput.py "$port" bench 32 "$max_tokens"; done
  kill -TERM "$pid"; wait "$pid" || true
done
