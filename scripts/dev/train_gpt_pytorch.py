#!/usr/bin/env python3
"""The PyTorch reference for `atelier train gpt`: the Llama-architecture GPT of docs/TRAINING.md and
its nanoGPT training recipe, on a text file with byte tokens (vocabulary 256). Development time only;
Atelier never needs Python to build, test or run.

It is the baseline of scripts/bench-train-vs-pytorch.sh, and its `GPT` class (imported by
scripts/dev/make-training-fixtures.py, in float64) produces the training test fixtures.

    python3 scripts/dev/train_gpt_pytorch.py --data /tmp/shakespeare.txt \\
        --layers 4 --heads 4 --dim 128 --context 64 --batch 12 --steps 2000 --threads 1 --eval-every 500

What it follows, from docs/TRAINING.md:
- model: token embedding (tied with the output), pre-norm blocks of RMSNorm (eps 1e-5) → causal
  attention with grouped-query heads and RoPE (theta 10000, ggml's normal mode: adjacent pairs
  (x[2i], x[2i+1]) rotated by t·theta^(-2i/d)) → residual, RMSNorm → SwiGLU (silu(gate)·up → down)
  → residual; final RMSNorm; logits = h·token_embdᵀ; no biases. Dropout on the embedding and on both
  residual branches only (none inside attention).
- init: N(0, 0.02²) for every matrix and the embedding, N(0, (0.02/√(2L))²) for attn_output and
  ffn_down, norms 1; drawn from one torch.Generator seeded with --seed, in parameter order.
- loss: mean cross-entropy over the B·T positions.
- optimizer: torch.optim.AdamW, betas (0.9, 0.99), eps 1e-8, weight decay 0.1 on rank ≥ 2 tensors
  and 0 on norm weights (two groups); torch.nn.utils.clip_grad_norm_(params, 1.0) before each step
  (factor 1.0/(norm + 1e-6) when below 1); learning rate at step s (from 0): lr·(s+1)/(warmup+1)
  during warmup, then min_lr + ½(1 + cos(π·(s − warmup)/(steps − warmup)))·(lr − min_lr), min_lr = lr/10.
- data: the file's bytes; the first ⌊n·(1 − f)⌋ train, the rest validation (--val-fraction f,
  default 0.1, nanoGPT's split); each step draws B random windows from the training split (x = bytes[i:i+T], y = bytes[i+1:i+T+1]).
- evaluation (not in docs/TRAINING.md; Atelier's Trainer.estimateValidationLoss): the mean loss over
  the same --eval-batches × --batch windows each time, spread evenly over the split's non-overlapping
  T-token windows; the final train loss is estimated the same way on the training split.

Output: one line per step (`step N | loss L | lr R | ms M`) unless --quiet, validation lines
(`eval step N | train L | val L`), and last a single JSON line with tokens_per_second (training steps
after --timing-warmup steps, evaluation excluded), final train and validation loss, peak RSS (getrusage ru_maxrss) and the configuration.
"""
import argparse
import json
import math
import resource
import sys
import time

import torch
import torch.nn.functional as F
from torch import nn


def default_ffn_width(width):
    """8·D/3 rounded up to a multiple of 16 (docs/TRAINING.md): 352 for 128, 1024 for 384."""
    return -(-(8 * width) // (3 * 16)) * 16


class GPT(nn.Module):
    """The Llama-architecture decoder of docs/TRAINING.md. Parameters are kept under their GGUF names
    (`self.named`, in the doc's order), row-major in PyTorch's [out, in] order."""

    def __init__(self, vocab, width, layers, heads, kv_heads, ffn, context, dropout=0.0, rope_theta=10000.0,
                 norm_eps=1e-5, attention="sdpa", dtype=torch.float32, seed=1337):
        super().__init__()
        if width % heads or heads % kv_heads or (width // heads) % 2:
            raise ValueError(f"width {width}, heads {heads}, kv heads {kv_heads}: need width = heads·d with d even, "
                             "heads a multiple of kv heads")
        if attention not in ("sdpa", "explicit"):
            raise ValueError(f"attention: expected sdpa or explicit, got {attention}")
        self.vocab, self.width, self.layers, self.heads, self.kv_heads = vocab, width, layers, heads, kv_heads
        self.ffn, self.context, self.dropout, self.norm_eps, self.attention = ffn, context, dropout, norm_eps, attention
        self.head_width = width // heads
        d = self.head_width
        shapes = [("token_embd.weight", (vocab, width))]
        for n in range(layers):
            shapes += [
                (f"blk.{n}.attn_norm.weight", (width,)),
                (f"blk.{n}.attn_q.weight", (heads * d, width)),
                (f"blk.{n}.attn_k.weight", (kv_heads * d, width)),
                (f"blk.{n}.attn_v.weight", (kv_heads * d, width)),
                (f"blk.{n}.attn_output.weight", (width, heads * d)),
                (f"blk.{n}.ffn_norm.weight", (width,)),
                (f"blk.{n}.ffn_gate.weight", (ffn, width)),
                (f"blk.{n}.ffn_up.weight", (ffn, width)),
                (f"blk.{n}.ffn_down.weight", (width, ffn)),
            ]
        shapes.append(("output_norm.weight", (width,)))
        generator = torch.Generator().manual_seed(seed)
        residual_std = 0.02 / math.sqrt(2 * layers)
        self.named = {}
        for name, shape in shapes:
            if len(shape) == 1:
                value = torch.ones(shape, dtype=dtype)
            else:
                std = residual_std if name.endswith(("attn_output.weight", "ffn_down.weight")) else 0.02
                value = torch.normal(0.0, std, shape, generator=generator, dtype=torch.float64).to(dtype)
            parameter = nn.Parameter(value)
            self.named[name] = parameter
            self.register_parameter(name.replace(".", "_"), parameter)
        # Rotation angles t·theta^(-2i/d) for positions t < context and pairs i < d/2, computed in float64.
        pair = torch.arange(d // 2, dtype=torch.float64)
        angles = torch.arange(context, dtype=torch.float64)[:, None] * rope_theta ** (-2.0 * pair / d)[None, :]
        self.register_buffer("rope_cos", angles.cos().to(dtype), persistent=False)
        self.register_buffer("rope_sin", angles.sin().to(dtype), persistent=False)

    def rmsnorm(self, x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.norm_eps) * weight

    def rope(self, x):
        """x [B, T, heads, d]: pair (x[2i], x[2i+1]) at position t rotated by t·theta^(-2i/d)."""
        t = x.shape[1]
        cos = self.rope_cos[:t, None, :]
        sin = self.rope_sin[:t, None, :]
        even, odd = x[..., 0::2], x[..., 1::2]
        return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)

    def attend(self, q, k, v):
        """q [B, H, T, d], k and v [B, Hkv, T, d] → [B, H, T, d]; query head h reads kv head h // (H/Hkv)."""
        scale = 1.0 / math.sqrt(self.head_width)
        if self.attention == "sdpa":
            return F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale,
                                                  enable_gqa=self.heads != self.kv_heads)
        group = self.heads // self.kv_heads
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        scores = (q @ k.transpose(-2, -1)) * scale
        t = q.shape[2]
        future = torch.ones(t, t, dtype=torch.bool, device=q.device).triu(1)
        scores = scores.masked_fill(future, float("-inf"))
        return scores.softmax(dim=-1) @ v

    def block(self, x, n, record=None):
        """Decoder block n on x [B, T, D]; `record`, when given, receives the intermediate tensors."""
        p = self.named
        b, t, _ = x.shape
        d = self.head_width
        a = self.rmsnorm(x, p[f"blk.{n}.attn_norm.weight"])
        q = self.rope((a @ p[f"blk.{n}.attn_q.weight"].T).view(b, t, self.heads, d))
        k = self.rope((a @ p[f"blk.{n}.attn_k.weight"].T).view(b, t, self.kv_heads, d))
        v = (a @ p[f"blk.{n}.attn_v.weight"].T).view(b, t, self.kv_heads, d)
        o = self.attend(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        o = o.transpose(1, 2).reshape(b, t, self.heads * d)
        h = x + F.dropout(o @ p[f"blk.{n}.attn_output.weight"].T, self.dropout, self.training)
        m = self.rmsnorm(h, p[f"blk.{n}.ffn_norm.weight"])
        hidden = F.silu(m @ p[f"blk.{n}.ffn_gate.weight"].T) * (m @ p[f"blk.{n}.ffn_up.weight"].T)
        out = h + F.dropout(hidden @ p[f"blk.{n}.ffn_down.weight"].T, self.dropout, self.training)
        if record is not None:
            record.update(attn_in=a, q_rope=q, k_rope=k, v=v, attention=o, residual=h, ffn_in=m, ffn_hidden=hidden)
        return out

    def forward(self, ids, targets=None):
        p = self.named
        b, t = ids.shape
        x = F.dropout(p["token_embd.weight"][ids], self.dropout, self.training)
        for n in range(self.layers):
            x = self.block(x, n)
        logits = self.rmsnorm(x, p["output_norm.weight"]) @ p["token_embd.weight"].T
        if targets is None:
            return logits
        return logits, F.cross_entropy(logits.reshape(b * t, -1), targets.reshape(b * t))


def make_optimizer(model, lr, weight_decay=0.1, betas=(0.9, 0.99), eps=1e-8):
    """AdamW with weight decay on rank ≥ 2 tensors (matrices, the embedding) and none on norm weights."""
    decayed = [p for p in model.named.values() if p.dim() >= 2]
    plain = [p for p in model.named.values() if p.dim() < 2]
    groups = [{"params": decayed, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=lr, betas=betas, eps=eps)


def learning_rate(step, lr, min_lr, warmup, steps):
    """Step counts from 0; the same schedule as NeuralNetworks.WarmupCosineSchedule."""
    if step < warmup:
        return lr * (step + 1) / (warmup + 1)
    if step >= steps:
        return min_lr
    progress = (step - warmup) / max(1, steps - warmup)
    return min_lr + 0.5 * (1 + math.cos(math.pi * progress)) * (lr - min_lr)


def batch(data, size, context, generator):
    starts = torch.randint(len(data) - context, (size,), generator=generator)
    x = torch.stack([data[i:i + context] for i in starts.tolist()])
    y = torch.stack([data[i + 1:i + context + 1] for i in starts.tolist()])
    return x, y


def evaluation_windows(length, context, count):
    """The same windows every time, as Atelier's Trainer.estimateValidationLoss picks them: of the
    non-overlapping windows at offsets 0, T, 2T, … ≤ length − T − 1, `count` spread evenly."""
    windows = list(range(0, length - context, context))
    wanted = min(len(windows), count)
    return [windows[i * len(windows) // wanted] for i in range(wanted)]


@torch.no_grad()
def estimate_loss(model, data, offsets, size, context):
    """Mean loss over the windows at `offsets`, `size` windows per forward pass."""
    model.eval()
    total = 0.0
    for start in range(0, len(offsets), size):
        chunk = offsets[start:start + size]
        x = torch.stack([data[i:i + context] for i in chunk])
        y = torch.stack([data[i + 1:i + context + 1] for i in chunk])
        total += model(x, y)[1].item() * len(chunk)
    model.train()
    return total / len(offsets)


def parse_arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a text file; its bytes are the tokens")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--kv-heads", type=int, default=None, help="key/value heads (default: --heads)")
    parser.add_argument("--dim", type=int, default=128, help="model width D")
    parser.add_argument("--ffn", type=int, default=None, help="feed-forward width (default 8D/3 rounded up to 16)")
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--min-lr", type=float, default=None, help="default: --lr / 10")
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--weight-decay", type=float, default=0.1)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--val-fraction", type=float, default=0.1, help="last fraction of the bytes held out")
    parser.add_argument("--eval-every", type=int, default=0, help="validate every N steps (0: only at the end)")
    parser.add_argument("--eval-batches", type=int, default=20, help="batches of windows per loss estimate")
    parser.add_argument("--timing-warmup", type=int, default=5, help="steps left out of tokens_per_second")
    parser.add_argument("--attention", choices=("sdpa", "explicit"), default="sdpa")
    parser.add_argument("--quiet", action="store_true", help="no per-step lines")
    args = parser.parse_args(argv)
    for name in ("layers", "heads", "dim", "context", "batch", "steps", "threads", "eval_batches"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')}: expected an integer ≥ 1, got {getattr(args, name)}")
    if not 0 < args.val_fraction < 1:
        parser.error(f"--val-fraction: expected a fraction in (0, 1), got {args.val_fraction}")
    if not 0 <= args.dropout < 1:
        parser.error(f"--dropout: expected a probability in [0, 1), got {args.dropout}")
    return args


def main(argv):
    args = parse_arguments(argv)
    torch.set_num_threads(args.threads)
    kv_heads = args.kv_heads or args.heads
    ffn = args.ffn or default_ffn_width(args.dim)
    min_lr = args.lr / 10 if args.min_lr is None else args.min_lr
    with open(args.data, "rb") as f:
        raw = f.read()
    data = torch.frombuffer(bytearray(raw), dtype=torch.uint8).long()
    split = math.floor(len(data) * (1 - args.val_fraction))
    train, val = data[:split], data[split:]
    if len(val) <= args.context + 1:
        sys.exit(f"{args.data}: {len(raw)} bytes leave {len(val)} for validation; need more than context + 1 = "
                 f"{args.context + 1}")

    model = GPT(256, args.dim, args.layers, args.heads, kv_heads, ffn, args.context, dropout=args.dropout,
                attention=args.attention, seed=args.seed)
    optimizer = make_optimizer(model, args.lr, args.weight_decay)
    parameters = list(model.named.values())
    train_generator = torch.Generator().manual_seed(args.seed)
    val_windows = evaluation_windows(len(val), args.context, args.eval_batches * args.batch)
    train_windows = evaluation_windows(len(train), args.context, args.eval_batches * args.batch)
    count = sum(p.numel() for p in parameters)
    print(f"model: {args.layers} layers, {args.heads} heads ({kv_heads} kv), width {args.dim}, ffn {ffn}, "
          f"context {args.context}, {count:,} parameters; data {len(train):,} train / {len(val):,} val bytes; "
          f"batch {args.batch}, {args.steps} steps, {args.threads} threads", flush=True)

    timed_seconds, timed_steps, evaluations = 0.0, 0, {}
    started = time.perf_counter()
    loss = None
    for step in range(args.steps):
        tick = time.perf_counter()
        lr = learning_rate(step, args.lr, min_lr, args.warmup, args.steps)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = batch(train, args.batch, args.context, train_generator)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(parameters, 1.0)
        optimizer.step()
        loss_value = loss.item()
        elapsed = time.perf_counter() - tick
        if step >= args.timing_warmup:
            timed_seconds += elapsed
            timed_steps += 1
        if not args.quiet:
            print(f"step {step + 1} | loss {loss_value:.4f} | lr {lr:.3e} | ms {elapsed * 1e3:.1f}", flush=True)
        done = step + 1
        if args.eval_every and done % args.eval_every == 0 and done != args.steps:
            val_loss = estimate_loss(model, val, val_windows, args.batch, args.context)
            evaluations[done] = val_loss
            print(f"eval step {done} | val {val_loss:.4f}", flush=True)

    final_train = estimate_loss(model, train, train_windows, args.batch, args.context)
    final_val = estimate_loss(model, val, val_windows, args.batch, args.context)
    evaluations[args.steps] = final_val
    print(f"eval step {args.steps} | train {final_train:.4f} | val {final_val:.4f}", flush=True)
    wall = time.perf_counter() - started
    if timed_steps == 0:  # fewer steps than the timing warm-up: time them all rather than report nothing
        timed_seconds, timed_steps = wall, args.steps
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    result = {
        "implementation": "pytorch",
        "torch": torch.__version__,
        "tokens_per_second": timed_steps * args.batch * args.context / timed_seconds,
        "timed_steps": timed_steps,
        "final_train_loss": final_train,
        "final_val_loss": final_val,
        "last_batch_loss": loss_value,
        "val_losses": {str(k): v for k, v in evaluations.items()},
        "peak_rss_bytes": peak_kib * 1024,
        "wall_seconds": wall,
        "parameters": count,
        "config": {"layers": args.layers, "heads": args.heads, "kv_heads": kv_heads, "dim": args.dim, "ffn": ffn,
                   "context": args.context, "batch": args.batch, "steps": args.steps, "threads": args.threads,
                   "seed": args.seed, "lr": args.lr, "min_lr": min_lr, "warmup": args.warmup,
                   "dropout": args.dropout, "val_fraction": args.val_fraction, "eval_batches": args.eval_batches, "attention": args.attention},
    }
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
