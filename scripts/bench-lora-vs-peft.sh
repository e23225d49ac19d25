#!/usr/bin/env bash
# LoRA fine-tuning speed and memory of `atelier finetune` against PyTorch + PEFT on SmolLM2-135M.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/bench-lora-vs-peft.sh [options]

Fine-tunes SmolLM2-135M with LoRA rank 8 (alpha 16, dropout 0) on all seven projections of every
block (q, k, v, o, gate, up, down), batch 1 × 256 tokens, AdamW lr 1e-4, in PyTorch + PEFT and in
`atelier finetune`, alternating the two (PyTorch, Atelier, PyTorch, …), each run in its own process,
at 1 and 2 threads, and prints the median tokens/s and peak RSS of each and their ratios
(Atelier / PyTorch).

  PyTorch  scripts/dev/lora_peft_bench.py: transformers' LlamaForCausalLM loaded from the GGUF and
           dequantized to float32 (GgufConfig(dequantize=True)), PEFT's get_peft_model, AdamW;
           random token ids (seed 0); --warmup untimed steps, then --steps timed ones.
  Atelier  atelier finetune MODEL --data random.jsonl --rank 8 --alpha 16 --batch 1 --context 256
           --lr 1e-4 --steps (warmup + steps): the base stays in its stored Q4_1/Q8_0 (QLoRA,
           finetune's default --frozen-forward auto unless --atelier-args says otherwise); each jsonl line is
           random words truncated to 256 tokens (checked: the data line must report 256 tokens per
           example). Its tokens/s is over the same steps PyTorch times (after the warmup ones), from
           the elapsed seconds in its metrics log (<out>.metrics.jsonl).

Options:
  --steps N          timed steps (default 10)
  --warmup N         untimed first steps (default 2)
  --repeats N        runs of each side per thread count (default 1)
  --threads "1 2"    thread counts (default "1 2")
  --model PATH       the GGUF (default: smollm2-135m from Atelier's store, pulled if missing)
  --impl hf|gguf     PyTorch model: transformers' (default) or scripts/dev/lora_llama_pytorch.py's
  --pytorch-precision f32|bf16-autocast
                     PyTorch's arithmetic: float32 (default; the issue's baseline) or its bf16 mixed
                     precision (torch.autocast on the CPU: linears and matmuls in bf16)
  --atelier-args "…" extra arguments for atelier finetune (e.g. "--frozen-forward dequantized")
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
  BENCH_VENV  Python with torch, peft, transformers, gguf, numpy (default
              /root/.cache/atelier-dev/venv if it has them, else ~/.cache/atelier-bench/venv, which
              gets peft, transformers and gguf from PyPI on first use). Nothing is installed into
              the repository.

Peak RSS of both: /usr/bin/time -v ("Maximum resident set size"). Machines here are shared: `uptime`
is printed at the start and the end.
EOF
}

steps=10 warmup=2 repeats=1 threads_list="1 2" model="" impl=hf pytorch_precision=f32 atelier_args="" skip_atelier=0 keep=0 blas_core=auto
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps="${2:?--steps needs a value}"; shift 2 ;;
    --warmup) warmup="${2:?--warmup needs a value}"; shift 2 ;;
    --repeats) repeats="${2:?--repeats needs a value}"; shift 2 ;;
    --threads) threads_list="${2:?--threads needs a value}"; shift 2 ;;
    --model) model="${2:?--model needs a path}"; shift 2 ;;
    --impl) impl="${2:?--impl needs hf or gguf}"; shift 2 ;;
    --pytorch-precision) pytorch_precision="${2:?--pytorch-precision needs f32 or bf16-autocast}"; shift 2 ;;
    --atelier-args) atelier_args="${2?--atelier-args needs a value}"; shift 2 ;;
    --skip-atelier) skip_atelier=1; shift ;;
    --blas-core) blas_core="${2:?--blas-core needs auto or inherit}"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "bench-lora-vs-peft: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
positive() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "bench-lora-vs-peft: $1: expected an integer ≥ 1, got '$2'" >&2; exit 2; }; }
positive --steps "$steps"; positive --repeats "$repeats"
[[ "$warmup" =~ ^[0-9]+$ ]] || { echo "bench-lora-vs-peft: --warmup: expected an integer ≥ 0, got '$warmup'" >&2; exit 2; }
for k in $threads_list; do positive --threads "$k"; done
[ "$impl" = hf ] || [ "$impl" = gguf ] || { echo "bench-lora-vs-peft: --impl: expected hf or gguf, got '$impl'" >&2; exit 2; }
[ "$pytorch_precision" = f32 ] || [ "$pytorch_precision" = bf16-autocast ] ||
  { echo "bench-lora-vs-peft: --pytorch-precision: expected f32 or bf16-autocast, got '$pytorch_precision'" >&2; exit 2; }

cd "$(dirname "$0")/.."
repo=$(pwd)
atelier="${ATELIER:-.build/release/atelier}"
[ -x /usr/bin/time ] || { echo "bench-lora-vs-peft: /usr/bin/time is missing (Debian package 'time')" >&2; exit 1; }
if [ "$skip_atelier" = 0 ]; then
  [ -x "$atelier" ] || { echo "bench-lora-vs-peft: no atelier binary at '$atelier' (build it, or set ATELIER)" >&2; exit 1; }
  "$atelier" finetune --help 2>&1 | grep -q -- '--rank' ||
    { echo "bench-lora-vs-peft: '$atelier finetune --help' shows no --rank option: this binary has no 'finetune' command" >&2; exit 1; }
fi

# Python with torch + peft + transformers + gguf, outside the repository.
has_all() { "$1/bin/python" -c 'import torch, peft, transformers, gguf, numpy' >/dev/null 2>&1; }
if [ -n "${BENCH_VENV:-}" ]; then venv="$BENCH_VENV"
elif has_all /root/.cache/atelier-dev/venv; then venv=/root/.cache/atelier-dev/venv
else venv="$HOME/.cache/atelier-bench/venv"; fi
if ! has_all "$venv"; then
  echo "setting up $venv (PyTorch CPU, peft, transformers, gguf)…" >&2
  mkdir -p "$(dirname "$venv")"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  if ! "$venv/bin/python" -c 'import torch' >/dev/null 2>&1; then
    wheel=$(find / -name 'torch-*cpu*.whl' -not -path '/proc/*' 2>/dev/null | head -1 || true)
    if [ -n "$wheel" ]; then "$venv/bin/python" -m pip install --quiet "$wheel"
    else "$venv/bin/python" -m pip install --quiet torch; fi
  fi
  "$venv/bin/python" -m pip install --quiet numpy peft transformers gguf
  has_all "$venv" || { echo "bench-lora-vs-peft: torch/peft/transformers/gguf do not import in $venv" >&2; exit 1; }
fi
python="$venv/bin/python"

if [ -z "$model" ]; then
  if [ -x "$atelier" ]; then model=$("$atelier" pull smollm2-135m 2>/dev/null | grep -o '/[^ ]*\.gguf' | tail -1 || true); fi
  [ -n "$model" ] || model="${ATELIER_HOME:-$HOME/.cache/atelier}/models/smollm2-135m.gguf"
fi
[ -s "$model" ] || { echo "bench-lora-vs-peft: model '$model' is missing (atelier pull smollm2-135m, or --model PATH)" >&2; exit 1; }

logs=$(mktemp -d)
if [ "$keep" = 1 ]; then echo "run logs: $logs" >&2; else trap 'rm -rf "$logs"' EXIT; fi
results="$logs/results.tsv"
: > "$results"
total=$((warmup + steps))

# The data: random token ids for PyTorch, random words for Atelier (one example per step).
"$python" - "$logs/tokens.npy" "$logs/random.jsonl" "$total" <<'PY'
import json, sys
import numpy as np
tokens_path, jsonl_path, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = np.random.default_rng(0)
np.save(tokens_path, rng.integers(0, 49152, size=(count, 1, 256), dtype=np.int32))
letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
with open(jsonl_path, "w") as out:
    for _ in range(count):
        words = ["".join(rng.choice(letters, size=rng.integers(3, 9))) for _ in range(400)]
        out.write(json.dumps({"text": " ".join(words)}) + "\n")
PY

run_one() {  # side threads rep command… → appends "threads side rep tokens/s rss_bytes" to results
  local side=$1 threads=$2 rep=$3; shift 3
  local log="$logs/t$threads-$side-$rep"
  if ! /usr/bin/time -v -o "$log.time" "$@" > "$log.out" 2> "$log.err"; then
    echo "bench-lora-vs-peft: $side run failed ($threads threads): $*" >&2
    tail -5 "$log.err" "$log.out" >&2
    exit 1
  fi
  "$python" - "$log.out" "$log.time" "$side" "$threads" "$rep" "$total" "$warmup" "$logs/adapter.gguf.metrics.jsonl" >> "$results" <<'PY'
import json, re, sys
out_path, time_path, side, threads, rep, total, warmup, metrics_path = sys.argv[1:9]
text = open(out_path, encoding="utf-8", errors="replace").read()
if side == "pytorch":
    lines = [line for line in text.splitlines() if line.startswith("{")]
    if not lines:
        sys.exit(f"{out_path}: PyTorch printed no JSON line")
    speed = float(json.loads(lines[-1])["tokens_per_second"])
else:
    data = re.search(r"^train: .*?: (\d+) examples \(text\), (\d+) tokens", text, re.M)
    if not data or int(data.group(2)) != 256 * int(data.group(1)):
        sys.exit(f"{out_path}: expected every example truncated to 256 tokens; the data line says: "
                 + (data.group(0) if data else "(no 'train:' line)"))
    # The same steps PyTorch times: from the end of the warmup steps to the end of the last one,
    # by the metrics log's elapsed seconds (its progress line's rate would include the warmup).
    elapsed = {}
    for line in open(metrics_path):
        record = json.loads(line)
        if "elapsed_seconds" in record:
            elapsed[record["step"]] = record["elapsed_seconds"]
    if int(total) not in elapsed or (int(warmup) > 0 and int(warmup) not in elapsed):
        sys.exit(f"{metrics_path}: no elapsed seconds for steps {warmup} and {total}")
    timed = int(total) - int(warmup)
    speed = 256 * timed / (elapsed[int(total)] - elapsed.get(int(warmup), 0.0))
rss = [line for line in open(time_path) if "Maximum resident set size" in line]
if not rss:
    sys.exit(f"{time_path}: no 'Maximum resident set size' line from /usr/bin/time -v")
print(f"{threads}\t{side}\t{rep}\t{speed}\t{int(rss[-1].split(':')[-1]) * 1024}")
PY
  tail -1 "$results" | awk -F'\t' '{ printf "  %s threads %-8s run %s: %8.1f tokens/s, peak RSS %7.1f MiB\n", $1, $2, $3, $4, $5 / 1048576 }' >&2
}

case "$blas_core" in
  auto) atelier_env=(env -u OPENBLAS_CORETYPE) ;;
  inherit) atelier_env=(env) ;;
  *) echo "bench-lora-vs-peft: --blas-core $blas_core: expected auto or inherit" >&2; exit 2 ;;
esac
load_start=$(uptime)
for threads in $threads_list; do
  for rep in $(seq 1 "$repeats"); do
    run_one pytorch "$threads" "$rep" "$python" -B "$repo/scripts/dev/lora_peft_bench.py" --model "$model" \
      --data "$logs/tokens.npy" --threads "$threads" --steps "$steps" --warmup "$warmup" --impl "$impl" \
      --rank 8 --alpha 16 --lr 1e-4 --precision "$pytorch_precision"
    if [ "$skip_atelier" = 0 ]; then
      # shellcheck disable=SC2086  # --atelier-args is a list of words
      run_one atelier "$threads" "$rep" "${atelier_env[@]}" "$atelier" finetune "$model" --data "$logs/random.jsonl" --rank 8 --alpha 16 \
        --batch 1 --context 256 --lr 1e-4 --steps "$total" --threads "$threads" --out "$logs/adapter.gguf" $atelier_args
    fi
  done
done
load_end=$(uptime)

echo
echo "load at start: ${load_start#*load average: }"
echo "OpenBLAS kernels for Atelier: --blas-core $blas_core (OPENBLAS_CORETYPE here: ${OPENBLAS_CORETYPE:-unset}$([ "$blas_core" = auto ] && echo ', removed for Atelier'))"
echo "load at end:   ${load_end#*load average: }"
"$python" - "$results" "$repeats" "$steps" "$impl" "$pytorch_precision" "$atelier_args" <<'PY'
import statistics, sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1]) if line.strip()]
repeats, steps, impl, precision, atelier_args = sys.argv[2:7]
groups = {}
for threads, side, _, speed, rss in rows:
    groups.setdefault(int(threads), {}).setdefault(side, []).append((float(speed), int(rss)))
print(f"SmolLM2-135M, LoRA r8 on q,k,v,o,gate,up,down, batch 1 x 256; medians of {repeats} run(s), {steps} timed steps; "
      f"PyTorch model: {impl} ({precision}); atelier finetune arguments added: {atelier_args or '(none)'}")
print(f"{'threads':>7}{'PyTorch tok/s':>15}{'Atelier tok/s':>15}{'ratio':>8}{'PyTorch MiB':>13}{'Atelier MiB':>13}{'ratio':>8}")
def cell(value, scale=1.0):
    return f"{value / scale:.1f}" if value is not None else "-"
def ratio(ours, theirs):
    return f"{ours / theirs:.2f}x" if ours is not None and theirs else "-"
for threads, sides in sorted(groups.items()):
    def median(side, index):
        return statistics.median(v[index] for v in sides[side]) if side in sides else None
    ps, as_ = median("pytorch", 0), median("atelier", 0)
    pr, ar = median("pytorch", 1), median("atelier", 1)
    print(f"{threads:>7}{cell(ps):>15}{cell(as_):>15}{ratio(as_, ps):>8}{cell(pr, 2**20):>13}{cell(ar, 2**20):>13}{ratio(ar, pr):>8}")
PY
