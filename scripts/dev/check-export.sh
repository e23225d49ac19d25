#!/usr/bin/env bash
# Development-time check of the GGUF and safetensors exports against llama.cpp, `atelier` and the
# Python references (scripts/dev/check_export.py). Never needed to build, test or run Atelier.
#
#   scripts/dev/check-export.sh [CORPUS] [VOCAB]
#
# Writes a tiny random Llama (D 64, 2 layers, 4 heads, 2 KV heads, context 64) with the byte
# tokenizer, a hand-made BPE and a BPE trained on CORPUS (default: the benchmark's Shakespeare) to
# $OUT (default /tmp/atelier-export-check) in f32, q8_0 and q4_1, then for each file:
#   - token ids of a text sample from llama-tokenize, `atelier tokenize` and the Python tokenizer;
#   - perplexity (-c 64) from llama-perplexity, `atelier perplexity` (f32 KV cache) and the f64
#     Python forward of docs/TRAINING.md on the file's dequantized tensors;
#   - llama-completion loads it and generates;
#   - the safetensors directory in a rotate-half torch Llama against the f64 GGUF forward;
#   - with HF_PYTHON set to a Python that has Hugging Face `tokenizers`: tokenizer.json's ids.
set -euo pipefail
cd "$(dirname "$0")/../.."
CORPUS=${1:-/root/.cache/atelier-bench/shakespeare.txt}
VOCAB=${2:-512}
OUT=${OUT:-/tmp/atelier-export-check}
BIN=${LLAMACPP_BIN:-$HOME/.cache/llamacpp-baseline/build/bin}
PY=${PYTHON:-/root/.cache/atelier-dev/venv/bin/python}
export LD_LIBRARY_PATH=$BIN
mkdir -p "$OUT"
ATELIER_EXPORT_SAMPLES=$OUT ATELIER_EXPORT_SAMPLES_CORPUS=$CORPUS ATELIER_EXPORT_SAMPLES_VOCAB=$VOCAB \
    swift test -c release --filter ExportSampleFiles 2>&1 | grep -E 'BPE:|✘|error' || true
head -c 20000 "$CORPUS" > "$OUT/sample.txt"
printf 'We'"'"'re told 1234 times; they'"'"'ll say "no" — café, naïve, 東京 and 😀!\n  Indented\twith tab.\r\n\n\n   end   ' > "$OUT/odd.txt"
status=0
for model in byte hand bpe; do
    for q in f32 q8_0 q4_1; do
        file=$OUT/$model-$q.gguf
        for text in sample odd; do
            "$BIN/llama-tokenize" -m "$file" -f "$OUT/$text.txt" --ids --log-disable 2>/dev/null | tail -1 | tr -d '[] ' > "$OUT/l.ids"
            .build/release/atelier tokenize "$file" --file "$OUT/$text.txt" | tr -d '[] ' > "$OUT/a.ids"
            "$PY" scripts/dev/check_export.py tokens "$file" "$OUT/$text.txt" | tr -d '[] ' > "$OUT/p.ids"
            if cmp -s "$OUT/l.ids" "$OUT/a.ids" && cmp -s "$OUT/l.ids" "$OUT/p.ids"; then
                echo "$model-$q $text: $(tr ',' '\n' < "$OUT/l.ids" | wc -l) tokens, identical in llama.cpp, atelier, python"
            else
                echo "$model-$q $text: TOKENS DIFFER"; status=1
            fi
        done
        l=$("$BIN/llama-perplexity" -m "$file" -f "$OUT/sample.txt" -c 64 -b 64 -t 2 2>&1 | grep -o 'PPL = [0-9.]*' | tail -1)
        a=$(.build/release/atelier perplexity "$file" -f "$OUT/sample.txt" -c 64 -t 2 --kv-type f32 2>&1 | grep -o 'PPL = [0-9.]*' | tail -1)
        p=$("$PY" scripts/dev/check_export.py perplexity "$file" "$OUT/sample.txt" --ctx 64 | grep -o 'PPL = [0-9.]*')
        echo "$model-$q perplexity: llama.cpp $l | atelier $a | python f64 $p"
        "$BIN/llama-completion" -m "$file" -p "ROMEO:" -n 16 --temp 0 -t 2 -no-cnv < /dev/null > /dev/null 2>"$OUT/completion.log" \
            && echo "$model-$q llama-completion: ok" || { echo "$model-$q llama-completion: FAILED"; tail -3 "$OUT/completion.log"; status=1; }
    done
    "$PY" scripts/dev/check_export.py safetensors "$OUT/$model-hf" "$OUT/$model-f32.gguf" "$OUT/sample.txt" --ctx 64 || status=1
    if [[ -n "${HF_PYTHON:-}" ]]; then
        "$HF_PYTHON" -c "import sys; from tokenizers import Tokenizer
t = Tokenizer.from_file(sys.argv[1]); text = open(sys.argv[2], encoding='utf-8', newline='').read()
ids = t.encode(text).ids; assert t.decode(ids) == text; print(','.join(map(str, ids)))" \
            "$OUT/$model-hf/tokenizer.json" "$OUT/sample.txt" > "$OUT/h.ids"
        "$BIN/llama-tokenize" -m "$OUT/$model-f32.gguf" -f "$OUT/sample.txt" --ids --log-disable 2>/dev/null | tail -1 | tr -d '[] ' > "$OUT/l.ids"
        cmp -s "$OUT/h.ids" "$OUT/l.ids" && echo "$model tokenizer.json: HF tokenizers = llama.cpp" || { echo "$model tokenizer.json: DIFFERS"; status=1; }
    fi
done
exit $status
