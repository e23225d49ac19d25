#!/usr/bin/env python3
"""Development-time checks of the files `GGUFExport` and `SafetensorsExport` write (never needed to
build, test or run Atelier). Uses the dev venv (/root/.cache/atelier-dev/venv: gguf, numpy, torch).

    python3 scripts/dev/check_export.py perplexity MODEL.gguf TEXT_FILE --ctx 32 [--chunks N]
        llama.cpp-style perplexity (chunks of --ctx tokens, second half of each scored, no BOS) of
        the f64 forward of docs/TRAINING.md on the file's (dequantized) tensors, with the file's
        byte-level tokenizer re-implemented from its metadata (GPT-2 split pattern, rank-ordered
        merges). Prints the token count and `PPL = …` to compare with llama-perplexity and
        `atelier perplexity` on the same file.
    python3 scripts/dev/check_export.py tokens MODEL.gguf TEXT_FILE
        The token ids of the text as this script's tokenizer makes them (one JSON list).
    python3 scripts/dev/check_export.py safetensors HF_DIR MODEL.gguf TEXT_FILE --ctx 32
        Loads model.safetensors + config.json into a small torch Llama with Hugging Face's
        rotate-half RoPE and compares its logits with the f64 GGUF forward on the first --ctx tokens.
"""
import argparse
import json
import math
import struct
import sys

import numpy as np


def gpt2_byte_alphabet():
    printable = list(range(0x21, 0x7F)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, n = {}, 0
    for b in range(256):
        if b in printable:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + n)
            n += 1
    return table


def classify(ch):
    import unicodedata
    if ch.isspace():
        return "s"
    cat = unicodedata.category(ch)
    if cat.startswith("L"):
        return "L"
    if cat.startswith("N"):
        return "N"
    return "o"


def gpt2_split(text):
    """'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"""
    words, i, n = [], 0, len(text)
    while i < n:
        for c in ("'s", "'t", "'m", "'d", "'re", "'ve", "'ll"):
            if text.startswith(c, i):
                words.append(c)
                i += len(c)
                break
        else:
            j = i + 1 if text[i] == " " and i + 1 < n else i
            kind = classify(text[j]) if j < n else "s"
            if kind in ("L", "N", "o") and (j == i or text[i] == " "):
                k = j
                while k < n and classify(text[k]) == kind:
                    k += 1
                words.append(text[i:k])
                i = k
                continue
            k = i
            while k < n and text[k].isspace():
                k += 1
            if k > i:
                if k < n and k - i > 1:
                    k -= 1  # \s+(?!\S): the last space leads the next word
                words.append(text[i:k])
                i = k
                continue
            words.append(text[i])
            i += 1
    return words


def read_gguf(path):
    import gguf
    reader = gguf.GGUFReader(path)
    meta = {}
    for field in reader.fields.values():
        if not field.types:
            continue
        if field.types[0] == gguf.GGUFValueType.ARRAY:
            if field.types[-1] == gguf.GGUFValueType.STRING:
                meta[field.name] = [bytes(field.parts[i]).decode() for i in field.data]
            else:
                meta[field.name] = [field.parts[i][0].item() for i in field.data]
        elif field.types[0] == gguf.GGUFValueType.STRING:
            meta[field.name] = bytes(field.parts[field.data[0]]).decode()
        else:
            meta[field.name] = field.parts[field.data[0]][0].item()
    tensors = {}
    for t in reader.tensors:
        values = gguf.quants.dequantize(t.data, t.tensor_type)
        shape = [int(x) for x in reversed(t.shape)]  # ggml ne → row-major
        tensors[t.name] = np.asarray(values, dtype=np.float64).reshape(shape)
    return meta, tensors


class ByteLevelBPE:
    def __init__(self, meta):
        self.alphabet = gpt2_byte_alphabet()
        self.ids = {text: i for i, text in enumerate(meta["tokenizer.ggml.tokens"])}
        self.ranks = {}
        for rank, merge in enumerate(meta.get("tokenizer.ggml.merges", [])):
            left, right = merge.split(" ", 1)
            self.ranks.setdefault((left, right), rank)

    def encode_word(self, word):
        symbols = [self.alphabet[b] for b in word.encode()]
        while len(symbols) > 1:
            best = min(range(len(symbols) - 1), key=lambda i: (self.ranks.get((symbols[i], symbols[i + 1]), math.inf), i))
            if (symbols[best], symbols[best + 1]) not in self.ranks:
                break
            symbols[best : best + 2] = [symbols[best] + symbols[best + 1]]
        return [self.ids[s] for s in symbols]

    def encode(self, text):
        out = []
        for word in gpt2_split(text):
            out += self.encode_word(word)
        return out


def forward(meta, w, tokens):
    """docs/TRAINING.md's forward in float64: logits [T, V]."""
    d_model = meta["llama.embedding_length"]
    heads = meta["llama.attention.head_count"]
    kv_heads = meta["llama.attention.head_count_kv"]
    layers = meta["llama.block_count"]
    eps = meta["llama.attention.layer_norm_rms_epsilon"]
    theta = meta["llama.rope.freq_base"]
    d = d_model // heads
    T = len(tokens)

    def rms(x, weight):
        return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * weight

    pos = np.arange(T)[:, None]
    angles = pos * theta ** (-2 * np.arange(d // 2) / d)  # [T, d/2]
    cos, sin = np.cos(angles), np.sin(angles)

    def rope(x):  # [T, H, d], adjacent pairs
        a, b = x[..., 0::2], x[..., 1::2]
        out = np.empty_like(x)
        out[..., 0::2] = a * cos[:, None, :] - b * sin[:, None, :]
        out[..., 1::2] = a * sin[:, None, :] + b * cos[:, None, :]
        return out

    x = w["token_embd.weight"][tokens]
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for layer in range(layers):
        p = f"blk.{layer}."
        a = rms(x, w[p + "attn_norm.weight"])
        q = rope((a @ w[p + "attn_q.weight"].T).reshape(T, heads, d))
        k = rope((a @ w[p + "attn_k.weight"].T).reshape(T, kv_heads, d))
        v = (a @ w[p + "attn_v.weight"].T).reshape(T, kv_heads, d)
        group = heads // kv_heads
        k, v = np.repeat(k, group, axis=1), np.repeat(v, group, axis=1)
        scores = np.einsum("thd,uhd->htu", q, k) / math.sqrt(d) + mask
        scores = np.exp(scores - scores.max(-1, keepdims=True))
        scores /= scores.sum(-1, keepdims=True)
        o = np.einsum("htu,uhd->thd", scores, v).reshape(T, heads * d)
        x = x + o @ w[p + "attn_output.weight"].T
        m = rms(x, w[p + "ffn_norm.weight"])
        g = m @ w[p + "ffn_gate.weight"].T
        x = x + ((g / (1 + np.exp(-g))) * (m @ w[p + "ffn_up.weight"].T)) @ w[p + "ffn_down.weight"].T
    out = w.get("output.weight", w["token_embd.weight"])
    return rms(x, w["output_norm.weight"]) @ out.T


def perplexity(meta, w, tokens, ctx, limit):
    chunks = len(tokens) // ctx if limit <= 0 else min(limit, len(tokens) // ctx)
    first = ctx // 2
    nll, count = 0.0, 0
    for c in range(chunks):
        chunk = tokens[c * ctx : (c + 1) * ctx]
        logits = forward(meta, w, chunk)
        for i in range(first, ctx - 1):
            row = logits[i]
            top = row.max()
            nll += top + math.log(np.exp(row - top).sum()) - row[chunk[i + 1]]
            count += 1
    return math.exp(nll / count), chunks


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", info
        start, end = info["data_offsets"]
        out[name] = np.frombuffer(data[start:end], dtype="<f4").astype(np.float64).reshape(info["shape"])
    return out


def hf_forward(config, w, tokens):
    """A minimal Hugging Face Llama (rotate-half RoPE) in torch float64."""
    import torch

    t = {k: torch.tensor(v) for k, v in w.items()}
    D, H, KV = config["hidden_size"], config["num_attention_heads"], config["num_key_value_heads"]
    d, eps, theta = D // H, config["rms_norm_eps"], config["rope_theta"]
    T = len(tokens)
    inv = 1.0 / theta ** (torch.arange(0, d, 2, dtype=torch.float64) / d)
    freqs = torch.outer(torch.arange(T, dtype=torch.float64), inv)
    emb = torch.cat([freqs, freqs], -1)
    cos, sin = emb.cos()[:, None, :], emb.sin()[:, None, :]

    def rotate_half(x):
        return torch.cat([-x[..., d // 2 :], x[..., : d // 2]], -1)

    def rms(x, weight):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight

    x = t["model.embed_tokens.weight"][torch.tensor(tokens)]
    mask = torch.triu(torch.full((T, T), float("-inf"), dtype=torch.float64), 1)
    for layer in range(config["num_hidden_layers"]):
        p = f"model.layers.{layer}."
        a = rms(x, t[p + "input_layernorm.weight"])
        q = (a @ t[p + "self_attn.q_proj.weight"].T).view(T, H, d)
        k = (a @ t[p + "self_attn.k_proj.weight"].T).view(T, KV, d)
        v = (a @ t[p + "self_attn.v_proj.weight"].T).view(T, KV, d)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(H // KV, 1), v.repeat_interleave(H // KV, 1)
        s = torch.einsum("thd,uhd->htu", q, k) / math.sqrt(d) + mask
        o = torch.einsum("htu,uhd->thd", s.softmax(-1), v).reshape(T, D)
        x = x + o @ t[p + "self_attn.o_proj.weight"].T
        m = rms(x, t[p + "post_attention_layernorm.weight"])
        x = x + (torch.nn.functional.silu(m @ t[p + "mlp.gate_proj.weight"].T) * (m @ t[p + "mlp.up_proj.weight"].T)) @ t[
            p + "mlp.down_proj.weight"
        ].T
    out = t["model.embed_tokens.weight"] if config["tie_word_embeddings"] else t["lm_head.weight"]
    return (rms(x, t["model.norm.weight"]) @ out.T).numpy()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["perplexity", "tokens", "safetensors"])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--ctx", type=int, default=32)
    parser.add_argument("--chunks", type=int, default=0, help="score at most this many chunks (0: all)")
    args = parser.parse_args()
    if args.mode == "safetensors":
        hf_dir, gguf_path, text_path = args.paths
    else:
        gguf_path, text_path = args.paths
    meta, w = read_gguf(gguf_path)
    text = open(text_path, encoding="utf-8", newline="").read()
    tokens = ByteLevelBPE(meta).encode(text)
    if args.mode == "tokens":
        print(json.dumps(tokens))
    elif args.mode == "perplexity":
        ppl, chunks = perplexity(meta, w, tokens, args.ctx, args.chunks)
        print(f"tokens {len(tokens)}, chunks {chunks}, PPL = {ppl:.6f}")
    else:
        config = json.load(open(hf_dir + "/config.json"))
        hf = hf_forward(config, read_safetensors(hf_dir + "/model.safetensors"), tokens[: args.ctx])
        ref = forward(meta, w, tokens[: args.ctx])
        err = np.abs(hf - ref).max() / np.abs(ref).max()
        print(f"safetensors (torch, rotate-half) vs GGUF (f64, adjacent pairs): max relative logit difference {err:.3e}")
        sys.exit(0 if err < 1e-9 else 1)


if __name__ == "__main__":
    main()
