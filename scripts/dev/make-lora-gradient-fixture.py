#!/usr/bin/env python3
"""Writes the PyTorch + PEFT reference of the LoRA gradient test (development time only):

    /root/.cache/atelier-dev/venv/bin/python scripts/dev/make-lora-gradient-fixture.py \
        ~/.cache/atelier/models/smollm2-135m.gguf Tests/FineTuningTests/Fixtures/lora-gradient-reference.gguf

(torch 2.15 CPU, peft 0.21, transformers 5.24 for the tokenizer only, gguf 0.19). The base model is
scripts/dev/lora_llama_pytorch.py's GGUFLlama: every GGUF tensor dequantized by gguf-py, the Llama
forward pass as llama.cpp runs it (checked: its greedy continuation equals llama.cpp's on the same
weights written as an F32 GGUF, and its logits equal transformers' LlamaForCausalLM's to 2e-5).
PEFT wraps it: LoraConfig(r=8, lora_alpha=16, lora_dropout=0, target_modules = the seven projections
of every block). Every lora_A / lora_B is then set by the formula below, which the Swift test
(Tests/FineTuningTests/LoRAGradientTests.swift) writes identically, so the values need not be shipped:

    value(layer, target, matrix, i) = 0.02 · sin(1 + 0.37·i + 1.7·layer + 2.3·target + 0.9·matrix)

  target: index in q, k, v, o, gate, up, down; matrix: 0 = A [r, in], 1 = B [out, r]; i: row-major
  flat index; computed in float64, rounded to float32 (the value both sides then hold).

One batch (B=2, T=24: two tokenized sentences, next-token targets, -1 on the last position of each
row and on the first 6 targets of row 1), forward and backward in float64 (exact to f64 rounding: the
dequantized weights are f32 values, so f64 holds them exactly). Deterministic up to PyTorch's
threaded summation order: a second run changed one gradient tensor by 5e-13 relative.

Tensors (F32, each the row-major array of its PyTorch shape; gguf-py stores the dimensions reversed):
  grad.blk.{L}.{attn_q,attn_k,attn_v,attn_output,ffn_gate,ffn_up,ffn_down}.weight.lora_{a,b}
      d loss / d A [r, in] and d loss / d B [out, r] for L in LAYERS
  batch.ids, batch.targets   I32 [B, T]
Metadata: fixture.loss (f64), fixture.rank, fixture.alpha, fixture.layers (i32 array = LAYERS),
  fixture.f32_loss, fixture.f32_worst_relative, fixture.f32_worst_l2_relative (f64: the same
  computation in float32 PyTorch, and its worst per-tensor max|Δ| / max|ref| and ‖Δ‖ / ‖ref‖ against
  float64: what float32 rounding alone costs); fixture.bf16_autocast_loss, ..._worst_relative,
  ..._worst_l2_relative (f64: the same in float32 under torch.autocast("cpu", dtype=torch.bfloat16),
  PyTorch's bf16 mixed precision: every linear and matmul in bf16 — what bf16 compute costs there).
"""
import math
import os
import sys

sys.dont_write_bytecode = True  # importing the model must not leave __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from gguf import GGUFWriter  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402

from lora_llama_pytorch import TARGETS, GGUFLlama  # noqa: E402

RANK, ALPHA = 8, 16
LAYERS = [0, 14, 29]
TEXTS = [
    "The quick brown fox jumps over the lazy dog. Fine-tuning adapts a pretrained model to new data with few parameters.",
    "Question: What is the capital of France? Answer: The capital of France is Paris, a city on the Seine river.",
]
T = 24
MASKED_PROMPT = 6  # row 1's first targets are not trained, as a prompt would not be


def formula(layer, target, matrix, count):
    values = [0.02 * math.sin(1 + 0.37 * i + 1.7 * layer + 2.3 * target + 0.9 * matrix) for i in range(count)]
    return np.array(values, dtype=np.float64).astype(np.float32)


def batch(tokenizer_dir, gguf_name):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tokenizer_dir, gguf_file=gguf_name)
    rows = []
    for text in TEXTS:
        ids = tokenizer.encode(text, add_special_tokens=False)
        if len(ids) < T:
            raise SystemExit(f"'{text}' has {len(ids)} tokens; expected at least {T}")
        rows.append(ids[:T])
    ids = np.array(rows, dtype=np.int32)
    targets = np.full_like(ids, -1)
    targets[:, :-1] = ids[:, 1:]
    targets[1, :MASKED_PROMPT] = -1
    return ids, targets


def gradients(path, ids, targets, dtype, autocast=False):
    torch.manual_seed(0)
    model = GGUFLlama(path, dtype=dtype)
    config = LoraConfig(r=RANK, lora_alpha=ALPHA, lora_dropout=0.0, target_modules=TARGETS)
    peft_model = get_peft_model(model, config)
    with torch.no_grad():
        for layer, block in enumerate(model.blk):
            for t, name in enumerate(TARGETS):
                lora = getattr(block, name)
                a, b = lora.lora_A["default"].weight, lora.lora_B["default"].weight
                assert lora.scaling["default"] == ALPHA / RANK
                a.data = torch.from_numpy(formula(layer, t, 0, a.numel())).reshape(a.shape).to(dtype)
                b.data = torch.from_numpy(formula(layer, t, 1, b.numel())).reshape(b.shape).to(dtype)
    trainable = [p for p in peft_model.parameters() if p.requires_grad]
    assert len(trainable) == 2 * len(TARGETS) * model.c.layers and all(p.dtype == dtype for p in trainable)
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
        loss = model.loss(torch.from_numpy(ids).long(), torch.from_numpy(targets).long())
    loss.backward()
    grads = {}
    for layer in LAYERS:
        for name in TARGETS:
            lora = getattr(model.blk[layer], name)
            stem = f"blk.{layer}.{name}.weight"
            grads[stem + ".lora_a"] = lora.lora_A["default"].weight.grad.double().numpy()
            grads[stem + ".lora_b"] = lora.lora_B["default"].weight.grad.double().numpy()
    return loss.item(), grads


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: make-lora-gradient-fixture.py MODEL.gguf OUT.gguf")
    path, out = sys.argv[1], sys.argv[2]
    torch.set_num_threads(2)
    directory, name = os.path.split(os.path.abspath(path))
    ids, targets = batch(directory, name)
    loss, grads = gradients(path, ids, targets, torch.float64)
    loss32, grads32 = gradients(path, ids, targets, torch.float32)
    loss16, grads16 = gradients(path, ids, targets, torch.float32, autocast=True)

    def worst_errors(approximate, label):
        worst, worst_l2 = 0.0, 0.0
        for key, reference in grads.items():
            relative = np.abs(approximate[key] - reference).max() / np.abs(reference).max()
            l2 = np.linalg.norm(approximate[key] - reference) / np.linalg.norm(reference)
            worst, worst_l2 = max(worst, relative), max(worst_l2, l2)
            print(f"{key:36s} max|g| {np.abs(reference).max():.3e}  {label}: max rel {relative:.2e}, L2 rel {l2:.2e}")
        return worst, worst_l2

    worst, worst_l2 = worst_errors(grads32, "float32 PyTorch")
    worst16, worst16_l2 = worst_errors(grads16, "bf16 autocast PyTorch")
    print(f"loss {loss!r} (float32 PyTorch {loss32!r}); worst float32 error: max rel {worst:.2e}, L2 rel {worst_l2:.2e}")
    print(f"bf16 autocast loss {loss16!r}; worst error: max rel {worst16:.2e}, L2 rel {worst16_l2:.2e}")

    writer = GGUFWriter(out, "lora-gradient-reference")
    writer.add_float64("fixture.loss", loss)
    writer.add_float64("fixture.f32_loss", loss32)
    writer.add_float64("fixture.f32_worst_relative", float(worst))
    writer.add_float64("fixture.f32_worst_l2_relative", float(worst_l2))
    writer.add_float64("fixture.bf16_autocast_loss", loss16)
    writer.add_float64("fixture.bf16_autocast_worst_relative", float(worst16))
    writer.add_float64("fixture.bf16_autocast_worst_l2_relative", float(worst16_l2))
    writer.add_uint32("fixture.rank", RANK)
    writer.add_float64("fixture.alpha", float(ALPHA))
    writer.add_array("fixture.layers", LAYERS)
    writer.add_tensor("batch.ids", ids)
    writer.add_tensor("batch.targets", targets)
    for key, reference in grads.items():
        writer.add_tensor("grad." + key, reference.astype(np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"wrote {out} ({os.path.getsize(out)} bytes)")


if __name__ == "__main__":
    main()
