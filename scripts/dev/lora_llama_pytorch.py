"""A Llama forward pass in PyTorch over a GGUF file's tensors, as llama.cpp runs it (development only).

Used by make-lora-gradient-fixture.py (the LoRA gradient reference) and bench-lora-vs-peft.sh (the
PEFT speed baseline when transformers cannot load the file). Every tensor is dequantized with gguf-py
(gguf.quants.dequantize) and kept in GGUF layout: Q and K rows stay permuted for llama.cpp's
adjacent-pair RoPE (ggml's normal mode), so RoPE here rotates pairs (2i, 2i+1). One nn.Linear per
projection, named as the GGUF tensors (attn_q, attn_k, attn_v, attn_output, ffn_gate, ffn_up,
ffn_down) so PEFT's target_modules can name them.

    x = embed(tokens)
    for each block:
        x = x + attn_output(attention(RoPE(attn_q(norm(x))), RoPE(attn_k(norm(x))), attn_v(norm(x))))
        x = x + ffn_down(SiLU(ffn_gate(norm(x))) * ffn_up(norm(x)))
    logits = output(norm(x))            output = token_embd when the file has no output.weight
"""
import math

import numpy as np
import torch
from torch import nn

from gguf import GGUFReader
from gguf.quants import dequantize

TARGETS = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]


def field(reader, key):
    value = reader.fields[key].contents()
    return value


class Config:
    def __init__(self, reader):
        arch = field(reader, "general.architecture")
        if arch not in ("llama", "mistral"):
            raise SystemExit(f"expected a llama GGUF, got general.architecture = {arch}")
        self.layers = int(field(reader, f"{arch}.block_count"))
        self.width = int(field(reader, f"{arch}.embedding_length"))
        self.ffn = int(field(reader, f"{arch}.feed_forward_length"))
        self.heads = int(field(reader, f"{arch}.attention.head_count"))
        self.kv_heads = int(field(reader, f"{arch}.attention.head_count_kv"))
        self.eps = float(field(reader, f"{arch}.attention.layer_norm_rms_epsilon"))
        self.theta = float(field(reader, f"{arch}.rope.freq_base"))
        self.head_dim = self.width // self.heads


class RMSNorm(nn.Module):
    def __init__(self, weight, eps):
        super().__init__()
        self.weight = nn.Parameter(weight, requires_grad=False)
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def linear(weight):
    out_features, in_features = weight.shape
    layer = nn.Linear(in_features, out_features, bias=False, dtype=weight.dtype)
    layer.weight = nn.Parameter(weight, requires_grad=False)
    return layer


def rope_adjacent(x, cos, sin):
    """x [B, T, heads, d]: rotates (x[2i], x[2i+1]) by angle pos·θ_i (ggml's normal mode)."""
    pairs = x.unflatten(-1, (-1, 2))
    even, odd = pairs[..., 0], pairs[..., 1]
    return torch.stack((even * cos - odd * sin, even * sin + odd * cos), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, tensors, layer, c):
        super().__init__()
        self.c = c
        w = lambda name: tensors[f"blk.{layer}.{name}.weight"]  # noqa: E731
        self.attn_norm = RMSNorm(w("attn_norm"), c.eps)
        self.ffn_norm = RMSNorm(w("ffn_norm"), c.eps)
        for name in TARGETS:
            setattr(self, name, linear(w(name)))

    def forward(self, x, cos, sin):
        c = self.c
        b, t, _ = x.shape
        h = self.attn_norm(x)
        q = rope_adjacent(self.attn_q(h).view(b, t, c.heads, c.head_dim), cos, sin).transpose(1, 2)
        k = rope_adjacent(self.attn_k(h).view(b, t, c.kv_heads, c.head_dim), cos, sin).transpose(1, 2)
        v = self.attn_v(h).view(b, t, c.kv_heads, c.head_dim).transpose(1, 2)
        group = c.heads // c.kv_heads  # query head h reads kv head h // group, as ggml broadcasts
        k = k.repeat_interleave(group, dim=1)
        v = v.repeat_interleave(group, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(c.head_dim)
        mask = torch.ones(t, t, dtype=torch.bool).triu(1)
        attention = scores.masked_fill(mask, float("-inf")).softmax(-1) @ v
        x = x + self.attn_output(attention.transpose(1, 2).reshape(b, t, c.heads * c.head_dim))
        f = self.ffn_norm(x)
        return x + self.ffn_down(nn.functional.silu(self.ffn_gate(f)) * self.ffn_up(f))


class GGUFLlama(nn.Module):
    def __init__(self, path, dtype=torch.float32):
        super().__init__()
        reader = GGUFReader(path)
        self.c = c = Config(reader)
        tensors = {}
        for t in reader.tensors:
            # dequantize returns the row-major array of shape reversed(ne): [out, in] for matrices.
            array = np.ascontiguousarray(dequantize(t.data, t.tensor_type), dtype=np.float32)
            tensors[t.name] = torch.from_numpy(array).to(dtype)
        self.token_embd = nn.Parameter(tensors["token_embd.weight"], requires_grad=False)
        self.output_weight = nn.Parameter(tensors.get("output.weight", tensors["token_embd.weight"]), requires_grad=False)
        self.output_norm = RMSNorm(tensors["output_norm.weight"], c.eps)
        self.blk = nn.ModuleList(Block(tensors, i, c) for i in range(c.layers))
        self.dtype = dtype

    def rotary(self, t):
        i = torch.arange(0, self.c.head_dim // 2, dtype=torch.float64)
        inverse = self.c.theta ** (-2 * i / self.c.head_dim)
        angles = torch.arange(t, dtype=torch.float64)[:, None] * inverse[None, :]  # [T, d/2]
        return angles.cos().to(self.dtype)[None, :, None, :], angles.sin().to(self.dtype)[None, :, None, :]

    def hidden(self, ids):
        cos, sin = self.rotary(ids.shape[1])
        x = self.token_embd[ids]
        for block in self.blk:
            x = block(x, cos, sin)
        return self.output_norm(x)

    def forward(self, ids):
        return self.hidden(ids) @ self.output_weight.T

    def loss(self, ids, targets):
        """Mean cross-entropy over targets ≥ 0 (-1 = not trained), only those rows projected."""
        hidden = self.hidden(ids).reshape(-1, self.c.width)
        flat = targets.reshape(-1)
        kept = flat >= 0
        logits = hidden[kept] @ self.output_weight.T
        return nn.functional.cross_entropy(logits, flat[kept])
