#!/usr/bin/env bash
# Runs a LoRA adapter through llama.cpp and through Atelier, greedy, and says whether they agree.
#
#   scripts/dev/check-adapter-llamacpp.sh MODEL ADAPTER PROMPT [N]
#
# MODEL: a .gguf path (or a name `atelier` resolves); ADAPTER: a LoRA adapter GGUF; N: tokens (16).
# llama.cpp: $LLAMACPP_BIN (default ~/.cache/llamacpp-baseline/build/bin), whichever of
# llama-completion, llama-simple, llama-cli it has. Atelier: $ATELIER (default .build/release/atelier).
# Both print only the continuation; texts are compared (ids as well when llama.cpp prints them).
set -euo pipefail
if [[ $# -lt 3 ]]; then
    echo "usage: $0 MODEL ADAPTER PROMPT [N]" >&2
    exit 2
fi
model=$1 adapter=$2 prompt=$3 n=${4:-16}
bin=${LLAMACPP_BIN:-$HOME/.cache/llamacpp-baseline/build/bin}
atelier=${ATELIER:-.build/release/atelier}
[[ -x $atelier ]] || { echo "no atelier binary at $atelier (swift build -c release --product atelier)" >&2; exit 2; }
[[ -f $model ]] || model=$("$atelier" list 2>/dev/null | awk -v m="$model" '$1 == m { print $NF }')
[[ -f $model ]] || { echo "model not found: $1" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [[ -x $bin/llama-completion ]]; then
    "$bin/llama-completion" -m "$model" --lora "$adapter" -p "$prompt" -n "$n" --temp 0 --top-k 1 -no-cnv \
        --no-display-prompt -c 512 >"$tmp/llama.txt" 2>"$tmp/llama.log"
elif [[ -x $bin/llama-cli ]]; then
    "$bin/llama-cli" -m "$model" --lora "$adapter" -p "$prompt" -n "$n" --temp 0 --top-k 1 -no-cnv \
        --no-display-prompt -c 512 >"$tmp/llama.txt" 2>"$tmp/llama.log" </dev/null
elif [[ -x $bin/llama-simple ]]; then
    # llama-simple has no --lora; it cannot check an adapter.
    echo "only llama-simple found in $bin, which has no --lora option" >&2
    exit 2
else
    echo "no llama.cpp binary in $bin (set LLAMACPP_BIN)" >&2
    exit 2
fi
if ! grep -q "loaded .* tensors from lora file\|lora" "$tmp/llama.log"; then
    echo "llama.cpp did not report loading the adapter; its log:" >&2
    tail -20 "$tmp/llama.log" >&2
fi
grep -i "lora" "$tmp/llama.log" | head -5 || true

"$atelier" run "$model" "$prompt" --lora "$adapter" -n "$n" --temp 0 2>"$tmp/atelier.log" >"$tmp/atelier.txt"

llama=$(cat "$tmp/llama.txt")
ours=$(cat "$tmp/atelier.txt")
printf 'llama.cpp: %q\natelier:   %q\n' "$llama" "$ours"
# llama.cpp may print a trailing "[end of text]" or newline; compare the common text.
llama=${llama%%\[end of text\]*}
if [[ "${llama%$'\n'}" == "${ours%$'\n'}" ]]; then
    echo "AGREE: the same $n-token greedy continuation"
else
    echo "DIFFER"
    exit 1
fi
