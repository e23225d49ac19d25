#!/usr/bin/env python3
"""One PyTorch + PEFT LoRA training run for scripts/bench-lora-vs-peft.sh (development only).

    python scripts/dev/lora_peft_bench.py --model smollm2-135m.gguf --data tokens.npy --threads 2 \
        --steps 10 --warmup 2 [--rank 8 --alpha 16 --lr 1e-4] [--impl hf|gguf] [--precision f32|bf16-autocast]

The base is the GGUF file dequantized to float32: by default transformers' LlamaForCausalLM
(`from_pretrained(dir, gguf_file=..., quantization_config=GgufConfig(dequantize=True))`, which also
undoes llama.cpp's Q/K row permutation), with --impl gguf scripts/dev/lora_llama_pytorch.py's module.
PEFT adds rank-r LoRA (dropout 0) to the seven projections of every block; torch.optim.AdamW trains
only those. Step i trains on row i of --data (int32 [steps, batch, T] token ids), next-token loss on
every position. The last line is JSON: tokens_per_second = batch·T·steps / the time of the timed
steps (each: zero_grad, forward, backward, optimizer step), after --warmup untimed steps; the peak RSS
once the model is loaded and at the end (getrusage: loading alone can set the peak). With
--precision bf16-autocast the forward pass runs under torch.autocast("cpu", dtype=torch.bfloat16),
PyTorch's bf16 mixed precision (weights and optimizer stay float32; linears and matmuls in bf16).
"""
import argparse
import json
import os
import resource
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from peft import LoraConfig, get_peft_model  # noqa: E402


def load(impl, path):
    if impl == "hf":
        from transformers import AutoModelForCausalLM, GgufConfig

        directory, name = os.path.split(os.path.abspath(path))
        model = AutoModelForCausalLM.from_pretrained(
            directory, gguf_file=name, dtype=torch.float32, quantization_config=GgufConfig(dequantize=True)
        )
        targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]

        def loss(ids):
            return model(input_ids=ids, labels=ids).loss

        return model, targets, loss
    from lora_llama_pytorch import TARGETS, GGUFLlama

    model = GGUFLlama(path, dtype=torch.float32)

    def loss(ids):
        targets = torch.full_like(ids, -1)
        targets[:, :-1] = ids[:, 1:]
        return model.loss(ids, targets)

    return model, TARGETS, loss


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--alpha", type=float, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--impl", choices=["hf", "gguf"], default="hf")
    parser.add_argument("--precision", choices=["f32", "bf16-autocast"], default="f32")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data = torch.from_numpy(np.load(args.data).astype(np.int64))
    if data.ndim != 3 or data.shape[0] < args.steps + args.warmup:
        raise SystemExit(f"{args.data}: expected [≥ {args.steps + args.warmup}, batch, T] token ids, got {list(data.shape)}")

    model, targets, loss_of = load(args.impl, args.model)
    peak_after_load = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    config = LoraConfig(r=args.rank, lora_alpha=args.alpha, lora_dropout=0.0, target_modules=targets)
    model = get_peft_model(model, config)
    model.train()
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=args.lr)
    print(f"{args.impl}: {sum(p.numel() for p in trainable)} trainable parameters, {args.threads} threads", file=sys.stderr)

    losses = []
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            start = time.perf_counter()
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.precision == "bf16-autocast"):
            loss = loss_of(data[step])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    seconds = time.perf_counter() - start
    tokens = args.steps * data.shape[1] * data.shape[2]
    print(json.dumps({"impl": args.impl, "precision": args.precision, "threads": args.threads, "steps": args.steps, "seconds": seconds,
                      "tokens_per_second": tokens / seconds, "first_loss": losses[0], "last_loss": losses[-1],
                      "peak_rss_after_load_bytes": peak_after_load,
                      "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))


if __name__ == "__main__":
    main()
