#!/usr/bin/env python3
"""Development time only: the FidelityTests statistic for any engine.

Reads a llama.cpp `--kl-divergence-base` file that an engine wrote from its OWN logits
(`llama-perplexity -m MODEL -f TEXT -c 128 --chunks 4 --kl-divergence-base OUT.kld`, or
`atelier perplexity MODEL -f TEXT -c 128 --kl-divergence-base OUT.kld`) and an ATLREF01 f64 fixture
(scripts/make-f64-reference.py) over the same tokens, and prints the mean of
KL(f64 || engine) over the fixture's top-k tokens plus one bucket for the rest, and the top-1
agreement — the exact statistic Tests/ModelsTests/FidelityTests.swift computes for Atelier, so
its thresholds come from llama.cpp measured the same way. Needs numpy.

Usage: kl-topk-of-base.py FIXTURE.bin ENGINE.kld
"""
import struct, sys
import numpy as np

fixture, engine = sys.argv[1:3]
raw = open(fixture, "rb").read()
assert raw[:8] == b"ATLREF01", "not an ATLREF01 fixture"
n_ctx, n_vocab, n_chunk, top_k = struct.unpack_from("<4I", raw, 8)
off = 24 + 4 * n_ctx * n_chunk
scored = n_chunk * (n_ctx - 1 - n_ctx // 2)
rec = np.dtype([("lse", "<f8"), ("top", [("id", "<i4"), ("logit", "<f8")], top_k)])
refs = np.frombuffer(raw, rec, count=scored, offset=off)

with open(engine, "rb") as f:
    assert f.read(8) == b"_logits_", "not a llama.cpp log-probability file"
    e_ctx, e_vocab, e_chunk = struct.unpack("<Iii", f.read(12))
    assert (e_ctx, e_vocab) == (n_ctx, n_vocab) and e_chunk >= n_chunk, "different shape"
    tokens = np.frombuffer(f.read(4 * e_ctx * e_chunk), "<i4")
    ftokens = np.frombuffer(raw, "<i4", count=n_ctx * n_chunk, offset=24)
    assert (tokens[: n_ctx * n_chunk] == ftokens).all(), "different tokens"
    nv = 2 * ((e_vocab + 1) // 2) + 4
    kls, same = [], 0
    for i in range(scored):
        r = np.frombuffer(f.read(2 * nv), "<u2")
        scale, minimum = np.frombuffer(r[:4].tobytes(), "<f4")
        logq = scale.astype(np.float64) * r[4 : 4 + e_vocab].astype(np.float64) + float(minimum)
        ids = refs[i]["top"]["id"]
        logp = refs[i]["top"]["logit"] - refs[i]["lse"]
        p, q = np.exp(logp), np.exp(logq[ids])
        kl = float((p * (logp - logq[ids])).sum())
        rest_p, rest_q = max(0.0, 1 - p.sum()), max(1e-300, 1 - q.sum())
        if rest_p > 0:
            kl += rest_p * np.log(rest_p / rest_q)
        kls.append(kl)
        same += int(np.argmax(r[4 : 4 + e_vocab]) == ids[0])
print(f"mean KL (top-{top_k} + rest) {np.mean(kls):.6f}  top-1 {same}/{scored} = {same / scored:.4f}")
