#!/usr/bin/env python3
"""Writes the QuantizationTests fixtures from gguf-py (PyPI `gguf` 0.19.0), the reference we must match.

  real-rows.json      rows of real tensors (model, tensor, row range) with the SHA-256 and first values
                      of gguf-py's float32 dequantization; the test reads the same rows from the model.
  random-blocks.json  random but valid blocks (finite fp16 scales) of every supported type, with the
                      bit patterns of gguf-py's dequantization.
  quantize.json       f32 inputs with gguf-py's quantize() bytes for the reference quantizers.

Usage: python3 scripts/make-quant-fixtures.py [models-dir]   (default ~/.cache/atelier/models)
"""
import hashlib, json, os, sys
import numpy as np
from gguf import GGUFReader, GGMLQuantizationType as T
from gguf.quants import dequantize, quantize

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "QuantizationTests", "Fixtures")
MODELS = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser("~/.cache/atelier/models")
rng = np.random.default_rng(20240611)


def bits(a):
    return [int(v) for v in np.asarray(a, dtype=np.float32).reshape(-1).view(np.uint32)]


def real_rows():
    out = []
    for model in ["smollm2-135m", "gemma3-270m"]:
        reader = GGUFReader(os.path.join(MODELS, model + ".gguf"))
        seen = set()
        for t in reader.tensors:
            qtype = T(t.tensor_type)
            dims = [int(d) for d in t.shape]
            rows = int(np.prod(dims[1:])) if len(dims) > 1 else 1
            # One 2-D tensor per type (a 1-D one only for F32, whose norms are all 1-D here).
            if qtype in seen or (rows == 1 and qtype != T.F32):
                continue
            seen.add(qtype)
            raw = np.asarray(t.data).reshape(-1).view(np.uint8)
            row_bytes = len(raw) // rows
            start = min(5, rows - 1)
            count = min(3, rows - start)
            chunk = raw[start * row_bytes:(start + count) * row_bytes]
            values = dequantize(chunk, qtype).astype(np.float32).reshape(-1)
            assert values.size == count * dims[0]
            out.append({
                "model": model, "tensor": t.name, "type": qtype.name,
                "rowStart": start, "rowCount": count, "columns": dims[0],
                "sha256": hashlib.sha256(values.astype("<f4").tobytes()).hexdigest(),
                "first": bits(values[:16]),
            })
    return out


BLOCK = {  # type: (elements, bytes, fp16 field offsets)
    T.Q4_0: (32, 18, [0]), T.Q4_1: (32, 20, [0, 2]), T.Q5_0: (32, 22, [0]), T.Q5_1: (32, 24, [0, 2]),
    T.Q8_0: (32, 34, [0]), T.Q2_K: (256, 84, [80, 82]), T.Q3_K: (256, 110, [108]),
    T.Q4_K: (256, 144, [0, 2]), T.Q5_K: (256, 176, [0, 2]), T.Q6_K: (256, 210, [208]),
}


def random_blocks():
    out = []
    for qtype, (elems, nbytes, halves) in BLOCK.items():
        nblocks = 5 if elems == 32 else 3
        data = rng.integers(0, 256, size=(nblocks, nbytes), dtype=np.uint8)
        for b in range(nblocks):
            for off in halves:
                # Finite scales of mixed sign and magnitude, one subnormal-range value per type.
                v = np.float16(rng.normal() * (1e-6 if b == 1 else 0.05))
                data[b, off:off + 2] = np.frombuffer(v.tobytes(), dtype=np.uint8)
        out.append(entry(qtype, data.reshape(-1)))
    # F16: every finite class (normal, subnormal, zero, inf); no NaN, whose payload handling differs.
    h = rng.integers(0, 65536, size=96, dtype=np.uint16)
    h = h[(h & 0x7C00) != 0x7C00][:64]
    h = np.concatenate([h, np.array([0x0000, 0x8000, 0x0001, 0x83FF, 0x7C00, 0xFC00, 0x3C00, 0x7BFF], dtype=np.uint16)])
    out.append(entry(T.F16, h.view(np.uint8)))
    b16 = rng.integers(0, 65536, size=96, dtype=np.uint16)
    b16 = b16[(b16 & 0x7F80) != 0x7F80][:64]
    b16 = np.concatenate([b16, np.array([0x0000, 0x8000, 0x0001, 0x7F80, 0xFF80, 0x3F80, 0x807F, 0x7F7F], dtype=np.uint16)])
    out.append(entry(T.BF16, b16.view(np.uint8)))
    return out


def entry(qtype, raw):
    values = dequantize(raw, qtype).astype(np.float32).reshape(-1)
    return {"type": qtype.name, "hex": raw.tobytes().hex(), "count": int(values.size), "expected": bits(values)}


def quantize_cases():
    out = []
    parts = [rng.normal(size=32 * 6).astype(np.float32) * np.repeat(np.float32([1, 0.01, 100, 3e-5, 0.5, 7]), 32)]
    parts.append(np.zeros(32, np.float32))                       # all-zero block: d = 0, id = 0
    parts.append(np.full(32, -0.75, np.float32))                 # constant block: max == min
    parts.append((rng.integers(-8, 8, size=32) * 0.25).astype(np.float32))   # values on the grid (ties)
    x = np.concatenate(parts).astype(np.float32)
    for qtype in [T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0, T.BF16, T.F16]:
        q = quantize(x, qtype) if qtype != T.F16 else x.astype(np.float16)
        out.append({"type": qtype.name, "input": bits(x), "hex": np.asarray(q).view(np.uint8).tobytes().hex()})
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in [("real-rows.json", real_rows()), ("random-blocks.json", random_blocks()),
                       ("quantize.json", quantize_cases())]:
        with open(os.path.join(OUT, name), "w") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
        print(name, len(data), "entries")


if __name__ == "__main__":
    main()
