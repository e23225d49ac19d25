#!/usr/bin/env bash
# Image-classifier training speed and memory of `atelier train classifier` against PyTorch CPU eager.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/bench-vision-vs-pytorch.sh [options]

Trains LeNet-5 (1×28×28) and ResNet-20 (CIFAR variant, 3×32×32) on random images, batch 128, 10 classes,
cross-entropy, SGD momentum 0.9 Nesterov, weight decay 5e-4, in PyTorch CPU eager and in
`atelier train classifier`, alternating the two (PyTorch, Atelier, PyTorch, …), each run in its own
process, at 1 and 2 threads, and prints the median images/s and peak RSS of each and their ratios
(Atelier / PyTorch).

  PyTorch  scripts/dev/bench_vision_pytorch.py --model M --threads N --batch 128 --precision P: train mode
           (BatchNorm batch statistics); random N(0,1) images and labels (seed 0), one batch reused;
           --warmup untimed steps, then --steps timed ones; reports images/s over the timed steps.
  Atelier  atelier train classifier --model M --data random:CxHxW --batch 128 --steps (warmup + steps)
           --threads N --out TMP/x.gguf; its images/s is the last "… images/s" in its output (its final
           summary: the rate over the steps after its first 3).

Options:
  --steps N          timed steps (default 20)
  --warmup N         untimed first steps (default 3)
  --repeats N        runs of each side per model and thread count (default 3)
  --threads "1 2"    thread counts (default "1 2")
  --models "lenet resnet20"
                     models (default both)
  --precision auto|f32|bf16
                     Atelier's --precision (default auto: bf16 convolution products where the CPU has
                     AVX512-BF16, else f32)
  --pytorch-precision f32|bf16-autocast
                     PyTorch's arithmetic (default f32; bf16-autocast: torch.autocast on the CPU, its
                     mixed precision, the like-for-like comparison with Atelier's bf16)
  --skip-atelier     PyTorch only
  --blas-core auto|inherit
                     OpenBLAS kernels for Atelier: auto (default) runs it without OPENBLAS_CORETYPE, so
                     it picks them for this CPU as on a machine that does not set the variable (AVX-512
                     ones where the CPU has AVX-512, as PyTorch's MKL/oneDNN do); inherit keeps this
                     environment's value (this VM sets OPENBLAS_CORETYPE=Haswell: AVX2 kernels)
  --keep             keep the run logs (their directory is printed)
  -h, --help         this text

Environment:
  ATELIER     the atelier binary (default .build/release/atelier)
  BENCH_VENV  Python with torch and numpy (default /root/.cache/atelier-dev/venv if it has them, else
              ~/.cache/atelier-bench/venv, which gets torch from PyPI on first use). Nothing is
              installed into the repository.

Peak RSS of both: /usr/bin/time -v ("Maximum resident set size"). Machines here are shared: `uptime`
is printed at the start and the end.
EOF
}

steps=20 warmup=3 repeats=3 threads_list="1 2" models="lenet resnet20" skip_atelier=0 keep=0 blas_core=auto
precision=auto pytorch_precision=f32
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="${2:?--steps needs a value}"; shift 2 ;;
    --warmup) warmup="${2:?--warmup needs a value}"; shift 2 ;;
    --repeats) repeats="${2:?--repeats needs a value}"; shift 2 ;;
    --threads) threads_list="${2:?--threads needs a value}"; shift 2 ;;
    --models) models="${2:?--models needs a value}"; shift 2 ;;
    --precision) precision="${2:?--precision needs auto, f32 or bf16}"; shift 2 ;;
    --pytorch-precision) pytorch_precision="${2:?--pytorch-precision needs f32 or bf16-autocast}"; shift 2 ;;
    --skip-atelier) skip_atelier=1; shift ;;
    --blas-core) blas_core="${2:?--blas-core needs auto or inherit}"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-vision-vs-pytorch: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
positive() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "bench-vision-vs-pytorch: $1: expected an integer ≥ 1, got '$2'" >&2; exit 2; }; }
positive --steps "$steps"; positive --repeats "$repeats"
[[ "$warmup" =~ ^[0-9]+$ ]] || { echo "bench-vision-vs-pytorch: --warmup: expected an integer ≥ 0, got '$warmup'" >&2; exit 2; }
[ -n "${threads_list// /}" ] || { echo "bench-vision-vs-pytorch: --threads: expected a list of integers ≥ 1, got '$threads_list'" >&2; exit 2; }
for k in $threads_list; do positive --threads "$k"; done
[ -n "${models// /}" ] || { echo "bench-vision-vs-pytorch: --models: expected a list of lenet and/or resnet20, got '$models'" >&2; exit 2; }
case "$precision" in auto|f32|bf16) ;; *) echo "bench-vision-vs-pytorch: --precision: expected auto, f32 or bf16, got '$precision'" >&2; exit 2 ;; esac
case "$pytorch_precision" in f32|bf16-autocast) ;; *) echo "bench-vision-vs-pytorch: --pytorch-precision: expected f32 or bf16-autocast, got '$pytorch_precision'" >&2; exit 2 ;; esac
for m in $models; do
  case "$m" in
    lenet|resnet20) ;;
    *) echo "bench-vision-vs-pytorch: --models: expected lenet or resnet20, got '$m'" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/.."
repo=$(pwd)
atelier="${ATELIER:-.build/release/atelier}"
[ -x /usr/bin/time ] || { echo "bench-vision-vs-pytorch: /usr/bin/time is missing (Debian package 'time')" >&2; exit 1; }
if [ "$skip_atelier" = 0 ]; then
  [ -x "$atelier" ] || { echo "bench-vision-vs-pytorch: no atelier binary at '$atelier' (build it, set ATELIER, or --skip-atelier)" >&2; exit 1; }
  help_text=$("$atelier" train classifier --help 2>&1 || true)
  grep -q -- '--model' <<< "$help_text" ||
    { echo "bench-vision-vs-pytorch: '$atelier train classifier --help' shows no --model option: this binary has no 'train classifier' command" >&2; exit 1; }
fi

# Python with torch, outside the repository.
has_all() { "$1/bin/python" -c 'import torch, numpy' >/dev/null 2>&1; }
if [ -n "${BENCH_VENV:-}" ]; then venv="$BENCH_VENV"
elif has_all /root/.cache/atelier-dev/venv; then venv=/root/.cache/atelier-dev/venv
else venv="$HOME/.cache/atelier-bench/venv"; fi
if ! has_all "$venv"; then
  echo "setting up $venv (PyTorch CPU, numpy)…" >&2
  mkdir -p "$(dirname "$venv")"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  if ! "$venv/bin/python" -c 'import torch' >/dev/null 2>&1; then
    wheel=$(find / -name 'torch-*cpu*.whl' -not -path '/proc/*' 2>/dev/null | head -1 || true)
    if [ -n "$wheel" ]; then "$venv/bin/python" -m pip install --quiet "$wheel"
    else "$venv/bin/python" -m pip install --quiet torch; fi
  fi
  "$venv/bin/python" -m pip install --quiet numpy
  has_all "$venv" || { echo "bench-vision-vs-pytorch: torch/numpy do not import in $venv" >&2; exit 1; }
fi
python="$venv/bin/python"

logs=$(mktemp -d)
if [ "$keep" = 1 ]; then echo "run logs: $logs" >&2; else trap 'rm -rf "$logs"' EXIT; fi
results="$logs/results.tsv"
: > "$results"
total=$((warmup + steps))

run_one() {  # side model threads rep command… → appends "model threads side rep images/s rss_bytes" to results
  local side=$1 model=$2 threads=$3 rep=$4; shift 4
  local log="$logs/$model-t$threads-$side-$rep"
  # One log for both streams, in the order printed: the rate is the last one the run printed.
  if ! /usr/bin/time -v -o "$log.time" "$@" > "$log.out" 2>&1; then
    echo "bench-vision-vs-pytorch: $side run failed ($model, $threads threads): $*" >&2
    tail -8 "$log.out" >&2
    exit 1
  fi
  "$python" - "$log.out" "$log.time" "$side" "$model" "$threads" "$rep" >> "$results" <<'PY'
import re, sys
out_path, time_path, side, model, threads, rep = sys.argv[1:7]
text = open(out_path, encoding="utf-8", errors="replace").read()
if side == "pytorch":
    found = re.findall(r"^images/s: ([0-9.]+)$", text, re.M)
    if not found:
        sys.exit(f"{out_path}: PyTorch printed no 'images/s: <float>' line")
else:
    found = re.findall(r"([0-9.]+) images/s", text)
    if not found:
        sys.exit(f"{out_path}: atelier printed no '<number> images/s'")
speed = float(found[-1])
rss = [line for line in open(time_path) if "Maximum resident set size" in line]
if not rss:
    sys.exit(f"{time_path}: no 'Maximum resident set size' line from /usr/bin/time -v")
print(f"{model}\t{threads}\t{side}\t{rep}\t{speed}\t{int(rss[-1].split(':')[-1]) * 1024}")
PY
  tail -1 "$results" | awk -F'\t' '{ printf "  %-8s %s threads %-8s run %s: %9.1f images/s, peak RSS %7.1f MiB\n", $1, $2, $3, $4, $5, $6 / 1048576 }' >&2
}

case "$blas_core" in
  auto) atelier_env=(env -u OPENBLAS_CORETYPE) ;;
  inherit) atelier_env=(env) ;;
  *) echo "bench-vision-vs-pytorch: --blas-core $blas_core: expected auto or inherit" >&2; exit 2 ;;
esac
load_start=$(uptime)
for model in $models; do
  case "$model" in
    lenet) data=random:1x28x28 ;;
    resnet20) data=random:3x32x32 ;;
  esac
  for threads in $threads_list; do
    for rep in $(seq 1 "$repeats"); do
      run_one pytorch "$model" "$threads" "$rep" "$python" -B "$repo/scripts/dev/bench_vision_pytorch.py" \
        --model "$model" --threads "$threads" --batch 128 --warmup "$warmup" --steps "$steps" --precision "$pytorch_precision"
      if [ "$skip_atelier" = 0 ]; then
        run_one atelier "$model" "$threads" "$rep" "${atelier_env[@]}" "$atelier" train classifier --model "$model" --data "$data" \
          --batch 128 --steps "$total" --threads "$threads" --precision "$precision" --out "$logs/x.gguf"
      fi
    done
  done
done
load_end=$(uptime)

echo
echo "load at start: ${load_start#*load average: }"
echo "OpenBLAS kernels for Atelier: --blas-core $blas_core (OPENBLAS_CORETYPE here: ${OPENBLAS_CORETYPE:-unset}$([ "$blas_core" = auto ] && echo ', removed for Atelier'))"
echo "load at end:   ${load_end#*load average: }"
echo "arithmetic: PyTorch $pytorch_precision, Atelier --precision $precision"
"$python" - "$results" "$repeats" "$steps" "$warmup" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
repeats, steps, warmup = sys.argv[2], sys.argv[3], sys.argv[4]
groups = {}
for model, threads, side, _, speed, rss in rows:
    groups.setdefault((model, int(threads)), {}).setdefault(side, []).append((float(speed), int(rss)))
print(f"batch 128, SGD Nesterov + cross-entropy; medians of {repeats} run(s); PyTorch: {warmup} warm-up + "
      f"{steps} timed steps, Atelier: {int(warmup) + int(steps)} steps, rate after its first 3")
print(f"{'model':<9}{'threads':>7}{'PyTorch img/s':>15}{'Atelier img/s':>15}{'ratio':>8}"
      f"{'PyTorch MiB':>13}{'Atelier MiB':>13}{'ratio':>8}")
def cell(value, scale=1.0):
    return f"{value / scale:.1f}" if value is not None else "-"
def ratio(ours, theirs):
    return f"{ours / theirs:.2f}x" if ours is not None and theirs else "-"
order = {"lenet": 0, "resnet20": 1}
for (model, threads), sides in sorted(groups.items(), key=lambda item: (order.get(item[0][0], 9), item[0][1])):
    def median(side, index):
        return statistics.median(v[index] for v in sides[side]) if side in sides else None
    ps, as_ = median("pytorch", 0), median("atelier", 0)
    pr, ar = median("pytorch", 1), median("atelier", 1)
    print(f"{model:<9}{threads:>7}{cell(ps):>15}{cell(as_):>15}{ratio(as_, ps):>8}"
          f"{cell(pr, 2**20):>13}{cell(ar, 2**20):>13}{ratio(ar, pr):>8}")
PY
