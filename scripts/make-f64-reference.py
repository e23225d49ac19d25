#!/usr/bin/env python3
"""Exact (float64) reference logits for a GGUF model — DEVELOPMENT TIME ONLY.

Nothing here is part of Atelier's build or tests. It produces the reference data that
docs/FIDELITY.md describes: the model's own quantized weights, dequantized exactly, run through
the architecture's forward pass in float64 with unquantized activations (no f16 or int8 rounding
anywhere). Both Atelier and llama.cpp approximate this computation; the fixture and the
llama.cpp-compatible KL-divergence file written here measure how closely.

Setup (outside the repository):
    python3 -m venv /root/.cache/atelier-dev/venv
    /root/.cache/atelier-dev/venv/bin/pip install numpy gguf

Run (from the repository root, after `swift build -c release --build-tests`):
    /root/.cache/atelier-dev/venv/bin/python scripts/make-f64-reference.py \
        --model ~/.cache/atelier/models/smollm2-135m.gguf \
        --text /usr/share/common-licenses/GPL-3 --ctx 128 --chunks 4 \
        --fixture-out Tests/ModelsTests/Fixtures/f64-smollm2-gpl3-c128.bin \
        --kld-out /root/.cache/atelier-dev/kld/smollm2-gpl3-c128.kld

Architectures: `llama` (SmolLM2) and `gemma3`.

Tokens come from Atelier (`atelier tokenize MODEL --file F --json --no-parse-special`), whose
tokenizer is verified equal to llama.cpp's. Exactly one trailing "\\n" is removed from the text
before tokenizing, as Atelier's perplexity does (and as llama.cpp's common `-f` option does when it
reads the file, common/arg.cpp). BOS is added only when the GGUF says tokenizer.ggml.add_bos_token.

Chunking follows llama.cpp's llama-perplexity: chunk c = tokens[c*n : (c+1)*n]; when the model
adds BOS, the chunk's first token is replaced by BOS; every chunk starts from an empty cache;
positions n/2 ... n-2 are scored (the logits at position i predict token i+1).

Outputs
-------
--kld-out FILE: llama.cpp's `--kl-divergence-base` file. "_logits_", uint32 n_ctx, int32 n_vocab,
    int32 n_chunk, int32 tokens[n_chunk*n_ctx] (raw, before the BOS substitution); then per chunk,
    per scored position, nv = 2*((n_vocab+1)/2)+4 uint16: float32 scale, float32 min_log_prob,
    n_vocab uint16 codes, zero padding to nv. Here scale = (max - min_logit)/65535 and
    min_log_prob = min_logit - max - log_sum_exp with min_logit = max(min, max - 16), all from
    the float64 logits and rounded to float32 when stored; code = round((logit - min_logit)/scale)
    (against the stored float32 scale) for logit > min_logit, else 0.

--fixture-out FILE: compact fixture for Swift tests, little-endian:
    "ATLREF01", uint32 n_ctx, uint32 n_vocab, uint32 n_chunk, uint32 top_k,
    int32 tokens[n_chunk*n_ctx] (raw, as above), then per scored position (chunk-major,
    positions n/2 ... n-2): float64 log_sum_exp of the logits, then top_k pairs
    (int32 token id, float64 logit), logits descending (ties: lower id first).
    log p(id) = logit - log_sum_exp.

It prints the float64 perplexity (exp of the mean NLL of the scored tokens) and per-chunk
running values.

Dequantization: gguf-py's `gguf.quants.dequantize` computes in float32. For the purely
multiplicative formats present in the project models (Q8_0, Q5_0, Q6_K, F32) every float32 product
is exact (at most 24 significant bits), so its result is the exact value. For formats with an
additive minimum (Q4_1: q*d + m; Q4_K: d*sc*q - dmin*m) the float32 sum can round, so those are
decoded here in float64 and checked against gguf-py to within float32 rounding.
"""

import argparse
import json
import math
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import gguf
from gguf import GGMLQuantizationType as QT


# ---------------------------------------------------------------------------------------------
# Weights

def field(reader, key, default=None):
    f = reader.fields.get(key)
    if f is None:
        return default
    return f.contents()


def dequantize_q4_1_f64(raw):
    blocks = raw.reshape(-1, 20)
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float64)
    m = blocks[:, 2:4].copy().view(np.float16).astype(np.float64)
    qs = blocks[:, 4:20]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float64)
    return q * d + m


def q4_k_scales_mins(scales):
    """The 8 six-bit scales and mins of a Q4_K/Q5_K super-block (get_scale_min_k4)."""
    sc = np.empty((scales.shape[0], 8), dtype=np.uint8)
    mn = np.empty((scales.shape[0], 8), dtype=np.uint8)
    for j in range(8):
        if j < 4:
            sc[:, j] = scales[:, j] & 63
            mn[:, j] = scales[:, j + 4] & 63
        else:
            sc[:, j] = (scales[:, j + 4] & 0x0F) | ((scales[:, j - 4] >> 6) << 4)
            mn[:, j] = (scales[:, j + 4] >> 4) | ((scales[:, j] >> 6) << 4)
    return sc.astype(np.float64), mn.astype(np.float64)


def dequantize_q4_k_f64(raw):
    blocks = raw.reshape(-1, 144)
    d = blocks[:, 0:2].copy().view(np.float16).astype(np.float64)
    dmin = blocks[:, 2:4].copy().view(np.float16).astype(np.float64)
    sc, mn = q4_k_scales_mins(blocks[:, 4:16])
    qs = blocks[:, 16:144].reshape(-1, 4, 32)
    # Sub-block s uses byte group s/2: low nibbles for even s, high for odd.
    q = np.stack([qs & 0x0F, qs >> 4], axis=2).reshape(-1, 8, 32).astype(np.float64)
    y = (d * sc)[:, :, None] * q - (dmin * mn)[:, :, None]
    return y.reshape(-1, 256)


EXACT_F64 = {QT.Q4_1: dequantize_q4_1_f64, QT.Q4_K: dequantize_q4_k_f64}
EXACT_IN_F32 = {QT.F32, QT.F16, QT.Q8_0, QT.Q5_0, QT.Q4_0, QT.Q6_K}


def load_tensor(tensor):
    """The tensor as float64, rows of ne0 elements (shape [ne1, ne0] for matrices)."""
    qtype = tensor.tensor_type
    shape = tuple(int(x) for x in reversed(tensor.shape))
    reference = gguf.quants.dequantize(tensor.data, qtype).astype(np.float64).reshape(shape)
    if qtype in EXACT_F64:
        exact = EXACT_F64[qtype](np.asarray(tensor.data).reshape(-1)).reshape(shape)
        # gguf-py rounds each element once to float32, so it may differ by half an ulp.
        bound = np.abs(exact) * 2.0 ** -24 + 1e-45
        if not np.all(np.abs(exact - reference) <= bound):
            sys.exit(f"{tensor.name}: float64 decode disagrees with gguf-py beyond float32 rounding")
        return exact
    if qtype not in EXACT_IN_F32:
        sys.exit(f"{tensor.name}: {qtype.name} is not known to decode exactly in float32; add a float64 decoder")
    return reference


class Weights:
    def __init__(self, reader):
        self.by_name = {t.name: t for t in reader.tensors}

    def has(self, name):
        return name in self.by_name

    def get(self, name):
        return load_tensor(self.by_name[name])


# ---------------------------------------------------------------------------------------------
# Forward pass (float64, all positions of one chunk at once)

def rms_norm(x, weight, eps):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps) * weight


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    return x / (1.0 + np.exp(-x))


def rope(x, positions, base, n_rot, neox):
    """Rotate the first n_rot dims of each head. x: [n_tokens, n_heads, head_dim]."""
    i = np.arange(n_rot // 2, dtype=np.float64)
    theta = positions[:, None].astype(np.float64) * base ** (-2.0 * i / n_rot)   # [n, n_rot/2]
    cos = np.cos(theta)[:, None, :]
    sin = np.sin(theta)[:, None, :]
    out = x.copy()
    if neox:
        x0 = x[..., : n_rot // 2]
        x1 = x[..., n_rot // 2 : n_rot]
        out[..., : n_rot // 2] = x0 * cos - x1 * sin
        out[..., n_rot // 2 : n_rot] = x0 * sin + x1 * cos
    else:
        x0 = x[..., 0:n_rot:2]
        x1 = x[..., 1:n_rot:2]
        out[..., 0:n_rot:2] = x0 * cos - x1 * sin
        out[..., 1:n_rot:2] = x0 * sin + x1 * cos
    return out


def attention(q, k, v, scale, window):
    """q: [n, n_head, d], k/v: [n, n_kv, d]; causal, and q - k < window when window is set."""
    n, n_head, _ = q.shape
    n_rep = n_head // k.shape[1]
    pos = np.arange(n)
    delta = pos[:, None] - pos[None, :]
    visible = delta >= 0
    if window is not None:
        visible &= delta < window
    out = np.empty((n, n_head, v.shape[2]))
    for h in range(n_head):
        g = h // n_rep
        scores = (q[:, h, :] @ k[:, g, :].T) * scale
        scores = np.where(visible, scores, -np.inf)
        scores -= scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        p /= p.sum(axis=1, keepdims=True)
        out[:, h, :] = p @ v[:, g, :]
    return out.reshape(n, -1)


class DecoderShape:
    """The hyperparameters and tensors every decoder here shares, read under `arch`'s keys."""

    def __init__(self, reader, weights, arch, layer_tensors):
        self.n_layer = int(field(reader, f"{arch}.block_count"))
        self.n_embd = int(field(reader, f"{arch}.embedding_length"))
        self.n_head = int(field(reader, f"{arch}.attention.head_count"))
        self.n_kv = int(field(reader, f"{arch}.attention.head_count_kv", self.n_head))
        self.head_dim = int(field(reader, f"{arch}.attention.key_length", self.n_embd // self.n_head))
        self.n_rot = int(field(reader, f"{arch}.rope.dimension_count", self.head_dim))
        self.eps = float(field(reader, f"{arch}.attention.layer_norm_rms_epsilon"))
        self.embd = weights.get("token_embd.weight")
        self.output = weights.get("output.weight") if weights.has("output.weight") else self.embd
        self.output_norm = weights.get("output_norm.weight")
        self.layers = [{s: weights.get(f"blk.{il}.{s}.weight") for s in layer_tensors} for il in range(self.n_layer)]

    @staticmethod
    def refuse_set(reader, keys):
        for key in keys:
            if field(reader, key) not in (None, "none", 1.0):
                sys.exit(f"{key} is set; it is not implemented")


class LlamaModel(DecoderShape):
    def __init__(self, reader, weights):
        a = "llama"
        super().__init__(reader, weights, a, ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_output",
                                              "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"))
        self.base = float(field(reader, f"{a}.rope.freq_base", 10000.0))
        self.refuse_set(reader, (f"{a}.rope.scaling.type", f"{a}.rope.scaling.factor"))
        if weights.has("rope_freqs.weight"):
            sys.exit("rope_freqs.weight is present; rope frequency factors are not implemented")

    def hidden(self, tokens):
        n = len(tokens)
        positions = np.arange(n)
        x = self.embd[tokens]
        for L in self.layers:
            h = rms_norm(x, L["attn_norm"], self.eps)
            q = (h @ L["attn_q"].T).reshape(n, self.n_head, self.head_dim)
            k = (h @ L["attn_k"].T).reshape(n, self.n_kv, self.head_dim)
            v = (h @ L["attn_v"].T).reshape(n, self.n_kv, self.head_dim)
            # GGUF llama Q/K rows are permuted for ggml's NORM (interleaved-pair) rope.
            q = rope(q, positions, self.base, self.n_rot, neox=False)
            k = rope(k, positions, self.base, self.n_rot, neox=False)
            x = x + attention(q, k, v, 1.0 / math.sqrt(self.head_dim), None) @ L["attn_output"].T
            h = rms_norm(x, L["ffn_norm"], self.eps)
            x = x + (silu(h @ L["ffn_gate"].T) * (h @ L["ffn_up"].T)) @ L["ffn_down"].T
        return rms_norm(x, self.output_norm, self.eps)


class Gemma3Model(DecoderShape):
    def __init__(self, reader, weights):
        a = "gemma3"
        super().__init__(reader, weights, a, ("attn_norm", "attn_q", "attn_k", "attn_v", "attn_q_norm", "attn_k_norm",
                                              "attn_output", "post_attention_norm", "ffn_norm", "ffn_gate", "ffn_up",
                                              "ffn_down", "post_ffw_norm"))
        self.base_global = float(field(reader, f"{a}.rope.freq_base", 1000000.0))
        self.base_local = float(field(reader, f"{a}.rope.local.freq_base", 10000.0))
        self.window = int(field(reader, f"{a}.attention.sliding_window"))
        self.refuse_set(reader, (f"{a}.rope.scaling.type", f"{a}.rope.scaling.factor", f"{a}.final_logit_softcapping",
                                 f"{a}.attn_logit_softcapping"))
        # Gemma's query_pre_attn_scalar is head_dim for every size but 27B; the GGUF has no key for it.
        self.scale = 1.0 / math.sqrt(self.head_dim)

    def hidden(self, tokens):
        n = len(tokens)
        positions = np.arange(n)
        # Norm weights in GGUF already include Gemma's +1.
        x = self.embd[tokens] * math.sqrt(self.n_embd)
        for il, L in enumerate(self.layers):
            local = il % 6 < 5
            base = self.base_local if local else self.base_global
            h = rms_norm(x, L["attn_norm"], self.eps)
            q = (h @ L["attn_q"].T).reshape(n, self.n_head, self.head_dim)
            k = (h @ L["attn_k"].T).reshape(n, self.n_kv, self.head_dim)
            v = (h @ L["attn_v"].T).reshape(n, self.n_kv, self.head_dim)
            q = rope(rms_norm(q, L["attn_q_norm"], self.eps), positions, base, self.n_rot, neox=True)
            k = rope(rms_norm(k, L["attn_k_norm"], self.eps), positions, base, self.n_rot, neox=True)
            a = attention(q, k, v, self.scale, self.window if local else None) @ L["attn_output"].T
            x = x + rms_norm(a, L["post_attention_norm"], self.eps)
            h = rms_norm(x, L["ffn_norm"], self.eps)
            f = (gelu_tanh(h @ L["ffn_gate"].T) * (h @ L["ffn_up"].T)) @ L["ffn_down"].T
            x = x + rms_norm(f, L["post_ffw_norm"], self.eps)
        return rms_norm(x, self.output_norm, self.eps)


ARCHITECTURES = {"llama": LlamaModel, "gemma3": Gemma3Model}


# ---------------------------------------------------------------------------------------------
# Tokens

def tokenize(atelier, model_path, text_path):
    with open(text_path, encoding="utf-8") as f:
        text = f.read()
    if text.endswith("\n"):
        text = text[:-1]        # as Atelier's perplexity and llama.cpp's -f do
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", suffix=".txt", delete=False) as f:
        f.write(text)
        stripped = f.name
    try:
        out = subprocess.run([atelier, "tokenize", model_path, "--file", stripped, "--json", "--no-parse-special"],
                             check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(stripped)
    return np.array(json.loads(out)["ids"], dtype=np.int64)


# ---------------------------------------------------------------------------------------------
# Outputs

def kld_record(logits, n_vocab):
    nv = 2 * ((n_vocab + 1) // 2) + 4
    max_logit = logits.max()
    min_logit = max(logits.min(), max_logit - 16.0)
    log_sum_exp = math.log(np.exp(logits - max_logit).sum())
    scale = np.float32((max_logit - min_logit) / 65535.0)
    min_log_prob = np.float32(min_logit - max_logit - log_sum_exp)
    record = np.zeros(nv, dtype=np.uint16)
    record[0:4] = np.array([scale, min_log_prob], dtype="<f4").view("<u2")
    if scale != 0:
        codes = np.rint((logits - min_logit) / np.float64(scale))
        codes = np.where(logits > min_logit, np.clip(codes, 0, 65535), 0)
        record[4 : 4 + n_vocab] = codes.astype(np.uint16)
    return record


def fixture_record(logits, top_k):
    max_logit = logits.max()
    log_sum_exp = max_logit + math.log(np.exp(logits - max_logit).sum())
    ids = np.lexsort((np.arange(len(logits)), -logits))[:top_k]
    out = bytearray(struct.pack("<d", log_sum_exp))
    for i in ids:
        out += struct.pack("<id", int(i), float(logits[i]))
    return bytes(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--text", required=True)
    parser.add_argument("--ctx", type=int, required=True)
    parser.add_argument("--chunks", type=int, default=None, help="default: all whole chunks")
    parser.add_argument("--kld-out")
    parser.add_argument("--fixture-out")
    parser.add_argument("--top-k", type=int, default=64)
    parser.add_argument("--atelier", default=".build/release/atelier", help="the atelier binary used to tokenize")
    parser.add_argument("--argmax-out", help="optional .npy of the float64 argmax per scored position")
    args = parser.parse_args()

    reader = gguf.GGUFReader(os.path.expanduser(args.model))
    arch = field(reader, "general.architecture")
    if arch not in ARCHITECTURES:
        sys.exit(f"architecture {arch} is not supported")
    add_bos = bool(field(reader, "tokenizer.ggml.add_bos_token", False))
    bos = int(field(reader, "tokenizer.ggml.bos_token_id"))
    model = ARCHITECTURES[arch](reader, Weights(reader))
    n_vocab = model.output.shape[0]

    tokens = tokenize(args.atelier, os.path.expanduser(args.model), args.text)
    n = args.ctx
    n_chunk = len(tokens) // n if args.chunks is None else min(args.chunks, len(tokens) // n)
    if n_chunk < 1:
        sys.exit(f"{len(tokens)} tokens: fewer than one chunk of {n}")
    raw = tokens[: n_chunk * n].astype("<i4")
    first = n // 2

    kld = open(args.kld_out, "wb") if args.kld_out else None
    fixture = open(args.fixture_out, "wb") if args.fixture_out else None
    if kld:
        kld.write(b"_logits_" + struct.pack("<Iii", n, n_vocab, n_chunk) + raw.tobytes())
    if fixture:
        fixture.write(b"ATLREF01" + struct.pack("<IIII", n, n_vocab, n_chunk, args.top_k) + raw.tobytes())

    nll = 0.0
    scored = 0
    argmaxes = []
    for c in range(n_chunk):
        window = tokens[c * n : (c + 1) * n].copy()
        if add_bos:
            window[0] = bos
        hidden = model.hidden(window)
        logits_all = hidden[first : n - 1] @ model.output.T
        for j, logits in enumerate(logits_all):
            target = window[first + j + 1]
            max_logit = logits.max()
            nll -= logits[target] - max_logit - math.log(np.exp(logits - max_logit).sum())
            scored += 1
            argmaxes.append(int(np.argmax(logits)))
            if kld:
                kld.write(kld_record(logits, n_vocab).tobytes())
            if fixture:
                fixture.write(fixture_record(logits, args.top_k))
        print(f"[{c + 1}/{n_chunk}] {math.exp(nll / scored):.6f}", file=sys.stderr, flush=True)

    for f in (kld, fixture):
        if f:
            f.close()
    if args.argmax_out:
        np.save(args.argmax_out, np.array(argmaxes, dtype=np.int32))
    print(f"f64 perplexity: {math.exp(nll / scored):.6f} ({scored} scored tokens, {n_chunk} chunks of {n}, "
          f"{len(tokens)} tokens in the text)")


if __name__ == "__main__":
    main()
