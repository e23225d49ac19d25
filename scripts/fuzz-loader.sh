#!/usr/bin/env bash
# Mutation fuzzing of the model loader and one forward pass (Tests/ModelsTests/LoaderFuzzTests.swift).
# Usage: scripts/fuzz-loader.sh [SECONDS] [FIRST_SEED]   (default 900 s, seed 1; one core)
# Builds the tests with `swift test` (which also runs the short default fuzz once), then runs a copy
# of the test binary — so the build directory is not held — with a fixed time per seed. A run that
# dies (a trap) leaves the case in Fuzz/crashes/loader/current.gguf; it is kept as Fuzz/crashes/loader/crash-SEED.gguf
# with its mutation log, and the next seed starts. Findings (non-finite logits) go to Fuzz/crashes/loader/.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-900}"; seed="${2:-1}"
per_seed=300
work="$PWD/Fuzz/crashes/loader"; mkdir -p "$work"
# ATELIER_LOADER_FUZZ_BINARY: a test binary already built (copied aside) instead of building now.
bin="${ATELIER_LOADER_FUZZ_BINARY:-}"
if [ -z "$bin" ]; then
  swift test -c release --filter LoaderFuzzTests || exit 1
  bin="$(mktemp -d)/AtelierPackageTests.xctest"
  cp .build/release/AtelierPackageTests.xctest "$bin"
fi
end=$(( $(date +%s) + seconds ))
while [ "$(date +%s)" -lt "$end" ]; do
  left=$(( end - $(date +%s) )); run=$(( left < per_seed ? left : per_seed ))
  [ "$run" -lt 5 ] && break
  ATELIER_LOADER_FUZZ_SECONDS="$run" ATELIER_LOADER_FUZZ_SEED="$seed" ATELIER_LOADER_FUZZ_DIR="$work" \
    timeout $(( run + 120 )) "$bin" --testing-library swift-testing --filter LoaderFuzzTests 2>&1 \
    | grep -E "loader fuzz|×|non-finite|recorded an issue|error|Fatal|failed" | tee -a "$work/log.txt"
  status=${PIPESTATUS[0]}
  if [ "$status" -gt 1 ]; then
    echo "seed $seed: exit status $status; case kept as $work/crash-$seed.gguf" | tee -a "$work/log.txt"
    cp "$work/current.gguf" "$work/crash-$seed.gguf"; cp "$work/current.gguf.txt" "$work/crash-$seed.txt"
  fi
  seed=$(( seed + 1 ))
done
