#!/usr/bin/env python3
"""Writes the float64 PyTorch reference fixtures of the training tests (development time only):

    /root/.cache/atelier-dev/venv/bin/python scripts/dev/make-training-fixtures.py Tests/TrainingTests/Fixtures

(torch 2.13 CPU, numpy, gguf 0.19 = gguf-py). The model is scripts/dev/train_gpt_pytorch.py's `GPT`
(docs/TRAINING.md to the letter), run in torch.float64 with the explicit attention (matmul, causal mask,
softmax), so every number is exact to float64 rounding. Deterministic: running it again gives the same
files byte for byte.

tiny-llama-reference.gguf — the whole model, one batch, 10 optimizer steps
  config: V=256, D=32, L=2, H=4, Hkv=2 (grouped-query: query head h reads kv head h // 2), head width 8,
  F=64, T=16, B=3, tied embeddings, dropout 0, RoPE theta 10000 (ggml normal mode), RMSNorm eps 1e-5,
  init per docs/TRAINING.md from torch.Generator().manual_seed(1337), drawn in parameter order.
  batch: the bytes of TEXT below; row r has inputs TEXT[o:o+16], targets TEXT[o+1:o+17], o = OFFSETS[r].
  tensors (F64 unless said):
    init.<name>     every parameter before training (names and shapes as docs/TRAINING.md)
    grad.<name>     d loss / d parameter at the initial weights, BEFORE clipping
    after10.<name>  the parameters after 10 steps on the same batch: each step = zero grads, forward,
                    backward, clip_grad_norm_(all parameters, 1.0), torch.optim.AdamW(lr 1e-3, betas
                    (0.9, 0.99), eps 1e-8) with weight_decay 0.1 on rank ≥ 2 tensors and 0 on norms,
                    constant learning rate (no schedule)
    forward.logits  [B, T, V] logits at the initial weights
    batch.inputs, batch.targets  I32 [B, T] token ids (bytes)
  metadata: fixture.loss (f64, loss at the initial weights), fixture.losses (f64 array [10]: the loss
  computed in step k before its update; [0] = fixture.loss), fixture.grad_norms (f64 array [10]: the
  global gradient L2 norm of step k before clipping), fixture.loss_after10 (f64, the loss at after10),
  fixture.vocab, .width, .layers, .heads, .kv_heads, .ffn, .context, .batch, .steps, .seed (u32),
  fixture.rope_theta, .norm_eps, .init_std, .lr, .beta1, .beta2, .adam_eps, .weight_decay, .clip_norm,
  .clip_eps (f64: PyTorch scales gradients by clip_norm / (norm + clip_eps) when that is below 1),
  fixture.text (string), fixture.offsets (i32 array [B]).

tiny-llama-block-reference.gguf — one decoder block alone, with weights large enough that attention is
  far from uniform (matrices ~ N(0, 0.2²), norm weights 1 + N(0, 0.1²), Generator seed 7) and input
  block.input [B, T, D] ~ N(0, 1); same config as above (D=32, H=4, Hkv=2, F=64, T=16, B=3).
  The scalar differentiated is L = sum(block.output ⊙ block.output_grad), output_grad ~ N(0, 1).
  tensors (F64): block.input, block.output, block.output_grad, grad.input (dL/d input),
    init.blk.0.<param>, grad.blk.0.<param> (dL/d param), and intermediates for locating a bug:
    block.attn_in [B,T,D] (normed, weighted), block.q_rope [B,T,H,d], block.k_rope [B,T,Hkv,d],
    block.v [B,T,Hkv,d], block.attention [B,T,H·d] (before attn_output), block.residual [B,T,D]
    (x + attention branch), block.ffn_in [B,T,D], block.ffn_hidden [B,T,F] (silu(gate)·up).
  metadata: fixture.width, .heads, .kv_heads, .ffn, .context, .batch (u32), fixture.rope_theta,
  fixture.norm_eps (f64).

SHAPES: each tensor is written as the row-major numpy array of its PyTorch shape ([out, in] for
matrices); gguf-py stores the dimensions in ggml order (innermost first), so the header of
init.blk.0.attn_k.weight ([16, 32] in PyTorch) says ne = [32, 16]. A reader gets the PyTorch shape by
reversing the ggml dimensions; the bytes are the same row-major data either way.
"""
import os
import sys

sys.dont_write_bytecode = True  # importing the model must not leave __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from gguf import GGUFValueType, GGUFWriter  # noqa: E402

from train_gpt_pytorch import GPT, make_optimizer  # noqa: E402

TEXT = ("To be, or not to be, that is the question: Whether 'tis nobler in the mind to suffer "
        "the slings and arrows of outrageous fortune.")
OFFSETS = [0, 29, 61]
CONFIG = dict(vocab=256, width=32, layers=2, heads=4, kv_heads=2, ffn=64, context=16)
BATCH = 3
SEED = 1337
STEPS = 10
LR, BETAS, ADAM_EPS, WEIGHT_DECAY, CLIP = 1e-3, (0.9, 0.99), 1e-8, 0.1, 1.0


def numpy64(tensor):
    return tensor.detach().to(torch.float64).contiguous().numpy().copy()  # not a view of a live parameter


def f64_array(writer, key, values):
    writer.add_key_value(key, [float(v) for v in values], GGUFValueType.ARRAY, sub_type=GGUFValueType.FLOAT64)


def add_config(writer, **values):
    for key, value in values.items():
        writer.add_uint32(f"fixture.{key}", value)
    writer.add_float64("fixture.rope_theta", 10000.0)
    writer.add_float64("fixture.norm_eps", 1e-5)


def write(writer):
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def global_norm(parameters):
    return torch.sqrt(sum((p.grad ** 2).sum() for p in parameters)).item()


def make_model_fixture(path):
    data = torch.tensor(list(TEXT.encode("ascii")), dtype=torch.long)
    t = CONFIG["context"]
    inputs = torch.stack([data[o:o + t] for o in OFFSETS])
    targets = torch.stack([data[o + 1:o + t + 1] for o in OFFSETS])
    model = GPT(**CONFIG, attention="explicit", dtype=torch.float64, seed=SEED)
    parameters = list(model.named.values())
    init = {name: numpy64(p) for name, p in model.named.items()}
    optimizer = make_optimizer(model, LR, WEIGHT_DECAY, BETAS, ADAM_EPS)

    losses, norms, gradients, logits = [], [], None, None
    for step in range(STEPS):
        optimizer.zero_grad(set_to_none=True)
        step_logits, loss = model(inputs, targets)
        loss.backward()
        if step == 0:
            gradients = {name: numpy64(p.grad) for name, p in model.named.items()}
            logits = numpy64(step_logits)
        losses.append(loss.item())
        norms.append(global_norm(parameters))
        torch.nn.utils.clip_grad_norm_(parameters, CLIP)
        optimizer.step()
    with torch.no_grad():
        loss_after = model(inputs, targets)[1].item()
    after = {name: numpy64(p) for name, p in model.named.items()}

    writer = GGUFWriter(path, arch="atelier-fixture")
    add_config(writer, **CONFIG, batch=BATCH, steps=STEPS, seed=SEED)
    writer.add_float64("fixture.loss", losses[0])
    f64_array(writer, "fixture.losses", losses)
    f64_array(writer, "fixture.grad_norms", norms)
    writer.add_float64("fixture.loss_after10", loss_after)
    for key, value in [("init_std", 0.02), ("lr", LR), ("beta1", BETAS[0]), ("beta2", BETAS[1]),
                       ("adam_eps", ADAM_EPS), ("weight_decay", WEIGHT_DECAY), ("clip_norm", CLIP),
                       ("clip_eps", 1e-6)]:
        writer.add_float64(f"fixture.{key}", value)
    writer.add_string("fixture.text", TEXT)
    writer.add_key_value("fixture.offsets", OFFSETS, GGUFValueType.ARRAY, sub_type=GGUFValueType.INT32)
    for prefix, values in (("init", init), ("grad", gradients), ("after10", after)):
        for name, value in values.items():
            writer.add_tensor(f"{prefix}.{name}", value)
    writer.add_tensor("forward.logits", logits)
    writer.add_tensor("batch.inputs", inputs.to(torch.int32).numpy())
    writer.add_tensor("batch.targets", targets.to(torch.int32).numpy())
    write(writer)
    return losses, norms, loss_after


def make_block_fixture(path):
    config = dict(CONFIG, layers=1)
    model = GPT(**config, attention="explicit", dtype=torch.float64, seed=SEED)
    generator = torch.Generator().manual_seed(7)
    block_names = [name for name in model.named if name.startswith("blk.0.")]
    with torch.no_grad():
        for name in block_names:
            p = model.named[name]
            noise = torch.normal(0.0, 1.0, tuple(p.shape), generator=generator, dtype=torch.float64)
            p.copy_(1 + 0.1 * noise if p.dim() == 1 else 0.2 * noise)
    shape = (BATCH, config["context"], config["width"])
    x = torch.normal(0.0, 1.0, shape, generator=generator, dtype=torch.float64).requires_grad_(True)
    output_grad = torch.normal(0.0, 1.0, shape, generator=generator, dtype=torch.float64)
    record = {}
    y = model.block(x, 0, record)
    (y * output_grad).sum().backward()

    writer = GGUFWriter(path, arch="atelier-fixture")
    add_config(writer, width=config["width"], heads=config["heads"], kv_heads=config["kv_heads"],
               ffn=config["ffn"], context=config["context"], batch=BATCH)
    writer.add_tensor("block.input", numpy64(x))
    writer.add_tensor("block.output", numpy64(y))
    writer.add_tensor("block.output_grad", numpy64(output_grad))
    writer.add_tensor("grad.input", numpy64(x.grad))
    for name in block_names:
        writer.add_tensor(f"init.{name}", numpy64(model.named[name]))
        writer.add_tensor(f"grad.{name}", numpy64(model.named[name].grad))
    for key in ("attn_in", "q_rope", "k_rope", "v", "attention", "residual", "ffn_in", "ffn_hidden"):
        writer.add_tensor(f"block.{key}", numpy64(record[key]))
    write(writer)


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit(f"usage: {sys.argv[0]} OUTPUT_DIRECTORY (an existing directory, e.g. Tests/TrainingTests/Fixtures)")
    torch.set_num_threads(1)  # one thread: the same summation order on every machine
    model_path = os.path.join(sys.argv[1], "tiny-llama-reference.gguf")
    losses, norms, loss_after = make_model_fixture(model_path)
    block_path = os.path.join(sys.argv[1], "tiny-llama-block-reference.gguf")
    make_block_fixture(block_path)
    print(f"{model_path}: {os.path.getsize(model_path):,} bytes; losses {[round(v, 6) for v in losses]}, "
          f"loss after 10 steps {loss_after:.6f}; gradient norms {[round(v, 4) for v in norms]}")
    print(f"{block_path}: {os.path.getsize(block_path):,} bytes")


if __name__ == "__main__":
    main()
