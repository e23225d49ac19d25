#!/usr/bin/env python3
"""Validate the planner catalogs (Sources/Planner/Catalogs/gpus.json and models.json).

Standard library only. Exits 0 when both files pass, 1 otherwise, printing one line per
problem in the form  <file>: <entry name>: <field>: <problem>.

Usage: python3 scripts/check-catalogs.py [catalog-dir]
"""

import json
import math
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_DIR = os.path.join(ROOT, "Sources", "Planner", "Catalogs")

DATE_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")
CC_RE = re.compile(r"^\d{1,2}\.\d$")

GPU_KEYS = {
    "name", "aliases", "vendor", "architecture", "computeCapability", "memoryGiB", "memoryType",
    "busWidthBits", "bandwidthGBps", "fp16TensorTFLOPS", "bf16TensorTFLOPS", "fp32TFLOPS", "tdpWatts",
    "unifiedMemory", "memoryOptionsGiB", "priceNewUSD", "priceNewDate", "priceNewSource",
    "priceUsedUSD", "priceUsedDate", "priceUsedSource", "sources", "note",
}
LLM_FAMILIES = {
    "llama", "gemma3", "qwen2", "qwen3", "qwen3moe", "mistral", "phi3", "gpt2", "gpt3", "bloom", "bert", "distilbert",
}
MOE_KEYS = ("experts", "activeExperts", "expertFeedForwardLength")
TRANSFORMER_KINDS = {"llm", "encoder"}
OTHER_KINDS = {"cnn", "detector", "diffusion"}
TRANSFORMER_KEYS = {
    "name", "aliases", "family", "kind", "parameters", "layers", "embeddingLength", "heads", "kvHeads",
    "headDim", "feedForwardLength", "vocabularySize", "contextLength", "mlp", "tiedEmbeddings",
    "attentionBias", "qkNorm", "positionEmbeddings", "slidingWindow", "globalLayerEvery",
    "experts", "activeExperts", "expertFeedForwardLength", "trainingDtype", "sources", "note",
}
OTHER_KEYS = {
    "name", "aliases", "family", "kind", "parameters", "inputResolution", "gflopsPerImage",
    "gmacsPerImage", "activationBytesPerImageTraining", "components", "measuredPeakBytes",
    "measuredPeakNote", "sources", "note",
}


class Checker:
    def __init__(self):
        self.problems = []

    def fail(self, file, entry, field, message):
        self.problems.append(f"{file}: {entry}: {field}: {message}")


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def is_url(v):
    return isinstance(v, str) and re.match(r"^https?://\S+$", v) is not None


def has_note(e):
    return isinstance(e.get("note"), str) and e["note"].strip() != ""


def check_number(c, f, name, e, key, lo, hi, required=True, nullable=False, integer=False):
    if key not in e:
        if required:
            c.fail(f, name, key, "missing")
        return None
    v = e[key]
    if v is None:
        if not nullable:
            c.fail(f, name, key, "must not be null")
        return None
    if integer and not is_int(v):
        c.fail(f, name, key, f"must be an integer, got {v!r}")
        return None
    if not is_number(v):
        c.fail(f, name, key, f"must be a number, got {v!r}")
        return None
    if not (lo <= v <= hi):
        c.fail(f, name, key, f"{v} outside plausible range [{lo}, {hi}]")
    return v


def check_bool(c, f, name, e, key):
    if key not in e:
        c.fail(f, name, key, "missing")
    elif not isinstance(e[key], bool):
        c.fail(f, name, key, f"must be true/false, got {e[key]!r}")


def check_str(c, f, name, e, key, required=True, nullable=False):
    if key not in e:
        if required:
            c.fail(f, name, key, "missing")
        return None
    v = e[key]
    if v is None and nullable:
        return None
    if not isinstance(v, str) or not v.strip():
        c.fail(f, name, key, f"must be a non-empty string, got {v!r}")
        return None
    return v


def check_common(c, f, e, index, allowed_keys, seen):
    name = e.get("name") if isinstance(e.get("name"), str) and e.get("name").strip() else f"<entry {index}>"
    if not isinstance(e, dict):
        c.fail(f, name, "-", "entry is not an object")
        return name
    check_str(c, f, name, e, "name")
    for k in sorted(set(e) - allowed_keys):
        c.fail(f, name, k, "unknown key (typo?)")
    aliases = e.get("aliases")
    if not isinstance(aliases, list) or not all(isinstance(a, str) and a.strip() for a in aliases):
        c.fail(f, name, "aliases", "must be a list of non-empty strings")
        aliases = []
    keys = {}
    for label in [e.get("name")] + aliases:
        if not isinstance(label, str):
            continue
        k = label.strip().lower()
        keys[k] = label
    for k, label in keys.items():
        if k in seen and seen[k] != name:
            c.fail(f, name, "aliases" if label != e.get("name") else "name",
                   f"'{label}' collides (case-insensitively) with entry '{seen[k]}'")
        else:
            seen[k] = name
    sources = e.get("sources")
    if not isinstance(sources, list) or not sources:
        c.fail(f, name, "sources", "must be a non-empty list of URLs")
    else:
        for s in sources:
            if not is_url(s):
                c.fail(f, name, "sources", f"not an http(s) URL: {s!r}")
    if "note" in e and not isinstance(e["note"], str):
        c.fail(f, name, "note", "must be a string")
    return name


def check_price(c, f, name, e, kind):
    p, d, s = f"price{kind}USD", f"price{kind}Date", f"price{kind}Source"
    for k in (p, d, s):
        if k not in e:
            c.fail(f, name, k, "missing (use null and explain in note)")
    price = e.get(p)
    if price is None:
        if e.get(d) is not None or e.get(s) is not None:
            c.fail(f, name, p, f"is null but {d}/{s} are set")
        if not has_note(e):
            c.fail(f, name, p, "is null; the note must say why")
        return
    if not is_number(price) or not (10 <= price <= 200000):
        c.fail(f, name, p, f"implausible price {price!r}")
    if not isinstance(e.get(d), str) or not DATE_RE.match(e.get(d)):
        c.fail(f, name, d, f"must be YYYY-MM or YYYY-MM-DD when {p} is set, got {e.get(d)!r}")
    if not is_url(e.get(s)):
        c.fail(f, name, s, f"must be an http(s) URL when {p} is set, got {e.get(s)!r}")


def check_gpus(c, path):
    f = os.path.relpath(path, ROOT)
    doc = load(c, path)
    if doc is None:
        return
    if doc.get("schemaVersion") != 1:
        c.fail(f, "-", "schemaVersion", f"must be 1, got {doc.get('schemaVersion')!r}")
    gpus = doc.get("gpus")
    if not isinstance(gpus, list) or not gpus:
        c.fail(f, "-", "gpus", "must be a non-empty list")
        return
    seen = {}
    for i, e in enumerate(gpus):
        if not isinstance(e, dict):
            c.fail(f, f"<entry {i}>", "-", "entry is not an object")
            continue
        name = check_common(c, f, e, i, GPU_KEYS, seen)
        vendor = e.get("vendor")
        if vendor not in ("nvidia", "apple"):
            c.fail(f, name, "vendor", f"must be 'nvidia' or 'apple', got {vendor!r}")
        check_str(c, f, name, e, "architecture")
        check_str(c, f, name, e, "memoryType")
        mem = check_number(c, f, name, e, "memoryGiB", 1, 1024)
        bw = check_number(c, f, name, e, "bandwidthGBps", 10, 20000)
        bus = check_number(c, f, name, e, "busWidthBits", 32, 16384, required=False, integer=True)
        if bw is not None and bus is not None:
            gbps_per_pin = bw * 8 / bus
            if not (1.0 <= gbps_per_pin <= 40.0):
                c.fail(f, name, "bandwidthGBps", f"{bw} GB/s on a {bus}-bit bus implies {gbps_per_pin:.2f} Gbps/pin (implausible)")
        fp32 = check_number(c, f, name, e, "fp32TFLOPS", 0.1, 1000, nullable=True)
        fp16 = check_number(c, f, name, e, "fp16TensorTFLOPS", 1, 10000, nullable=True)
        bf16 = check_number(c, f, name, e, "bf16TensorTFLOPS", 1, 10000, nullable=True)
        tdp = check_number(c, f, name, e, "tdpWatts", 5, 3000, nullable=True)
        check_bool(c, f, name, e, "unifiedMemory")
        for key, v in (("fp32TFLOPS", fp32), ("fp16TensorTFLOPS", fp16), ("bf16TensorTFLOPS", bf16), ("tdpWatts", tdp)):
            if key in e and v is None and e.get(key) is None and not has_note(e):
                c.fail(f, name, key, "is null; the note must say why")
        if vendor == "nvidia":
            cc = e.get("computeCapability")
            if not isinstance(cc, str) or not CC_RE.match(cc):
                c.fail(f, name, "computeCapability", f"NVIDIA entries need a string like '8.9', got {cc!r}")
            if "memoryOptionsGiB" in e:
                c.fail(f, name, "memoryOptionsGiB", "only for Apple entries")
            if e.get("unifiedMemory") is not False:
                c.fail(f, name, "unifiedMemory", "must be false for NVIDIA GPUs")
            if fp16 is None:
                c.fail(f, name, "fp16TensorTFLOPS", "NVIDIA entries need a dense FP16 tensor figure")
            if fp16 is not None and fp32 is not None and fp16 < fp32:
                c.fail(f, name, "fp16TensorTFLOPS", f"{fp16} is below the non-tensor FP32 rate {fp32} (sparse/dense or unit mix-up?)")
            if fp16 is not None and bf16 is not None and abs(fp16 - bf16) > 0.01 * fp16:
                c.fail(f, name, "bf16TensorTFLOPS", f"{bf16} differs from fp16TensorTFLOPS {fp16}; both are dense FP32-accumulate rates")
            if fp32 is not None and mem is not None and fp32 > 0 and fp16 is not None and fp16 / fp32 > 20:
                c.fail(f, name, "fp16TensorTFLOPS", f"{fp16} is {fp16 / fp32:.1f}x FP32 (sparsity figure?)")
        elif vendor == "apple":
            if "computeCapability" in e:
                c.fail(f, name, "computeCapability", "omit for Apple entries")
            if e.get("unifiedMemory") is not True:
                c.fail(f, name, "unifiedMemory", "must be true for Apple M-series")
            opts = e.get("memoryOptionsGiB")
            if not isinstance(opts, list) or not opts or not all(is_number(o) and o > 0 for o in opts):
                c.fail(f, name, "memoryOptionsGiB", "Apple entries need a non-empty list of positive sizes")
            else:
                if opts != sorted(opts) or len(set(opts)) != len(opts):
                    c.fail(f, name, "memoryOptionsGiB", "must be strictly increasing")
                if mem is not None and max(opts) != mem:
                    c.fail(f, name, "memoryGiB", f"{mem} must equal the largest memoryOptionsGiB ({max(opts)})")
        check_price(c, f, name, e, "New")
        check_price(c, f, name, e, "Used")


def approx_params(e):
    """Rough parameter estimate from the transformer hyperparameters (excludes norms/biases)."""
    V, H, L = e["vocabularySize"], e["embeddingLength"], e["layers"]
    nh, kv, hd, F = e["heads"], e["kvHeads"], e["headDim"], e["feedForwardLength"]
    emb = V * H * (1 if e["tiedEmbeddings"] else 2)
    if e["positionEmbeddings"] == "learned":
        emb += e["contextLength"] * H
    attn = 2 * H * nh * hd + 2 * H * kv * hd
    if e.get("experts"):
        # Mixture of experts: every expert resident, plus the router.
        mlp = 3 * H * e["expertFeedForwardLength"] * e["experts"] + H * e["experts"]
    else:
        mlp = (3 if e["mlp"] == "gated" else 2) * H * F
    return emb + L * (attn + mlp)


def check_moe(c, f, name, e):
    """The three MoE fields come together, are integers, and name a plausible layout. Returns
    whether the entry is usable for the parameter estimate."""
    present = [k for k in MOE_KEYS if k in e]
    if not present:
        return True
    if len(present) != len(MOE_KEYS):
        missing = sorted(set(MOE_KEYS) - set(present))
        c.fail(f, name, missing[0], f"mixture-of-experts fields come together; {', '.join(missing)} missing")
        return False
    experts = check_number(c, f, name, e, "experts", 2, 4096, integer=True)
    active = check_number(c, f, name, e, "activeExperts", 1, 4096, integer=True)
    width = check_number(c, f, name, e, "expertFeedForwardLength", 16, 1 << 20, integer=True)
    if experts is None or active is None or width is None:
        return False
    if active > experts:
        c.fail(f, name, "activeExperts", f"{active} is more than experts {experts}")
        return False
    return True


def check_models(c, path):
    f = os.path.relpath(path, ROOT)
    doc = load(c, path)
    if doc is None:
        return
    if doc.get("schemaVersion") != 1:
        c.fail(f, "-", "schemaVersion", f"must be 1, got {doc.get('schemaVersion')!r}")
    models = doc.get("models")
    if not isinstance(models, list) or not models:
        c.fail(f, "-", "models", "must be a non-empty list")
        return
    seen = {}
    for i, e in enumerate(models):
        if not isinstance(e, dict):
            c.fail(f, f"<entry {i}>", "-", "entry is not an object")
            continue
        kind = e.get("kind")
        if kind in TRANSFORMER_KINDS:
            allowed = TRANSFORMER_KEYS
        elif kind in OTHER_KINDS:
            allowed = OTHER_KEYS
        else:
            allowed = TRANSFORMER_KEYS | OTHER_KEYS  # kind itself is reported below
        name = check_common(c, f, e, i, allowed, seen)
        check_str(c, f, name, e, "family")
        params = check_number(c, f, name, e, "parameters", 1e5, 5e12, integer=True)
        if kind in TRANSFORMER_KINDS:
            if e.get("family") not in LLM_FAMILIES:
                c.fail(f, name, "family", f"must be one of {sorted(LLM_FAMILIES)}, got {e.get('family')!r}")
            ok = True
            for key, lo, hi in (("layers", 1, 512), ("embeddingLength", 64, 65536), ("heads", 1, 1024),
                                ("kvHeads", 1, 1024), ("headDim", 16, 1024), ("feedForwardLength", 64, 1 << 20),
                                ("vocabularySize", 1000, 1 << 22), ("contextLength", 128, 1 << 24)):
                if check_number(c, f, name, e, key, lo, hi, integer=True) is None:
                    ok = False
            if e.get("mlp") not in ("gated", "plain"):
                c.fail(f, name, "mlp", f"must be 'gated' or 'plain', got {e.get('mlp')!r}")
                ok = False
            if e.get("positionEmbeddings") not in ("rope", "learned", "alibi"):
                c.fail(f, name, "positionEmbeddings", f"must be rope/learned/alibi, got {e.get('positionEmbeddings')!r}")
                ok = False
            for key in ("tiedEmbeddings", "attentionBias", "qkNorm"):
                check_bool(c, f, name, e, key)
                if not isinstance(e.get(key), bool):
                    ok = False
            dtype = e.get("trainingDtype", "missing")
            if dtype == "missing":
                c.fail(f, name, "trainingDtype", "missing (use null and explain in note)")
            elif dtype is None:
                if not has_note(e):
                    c.fail(f, name, "trainingDtype", "is null; the note must say why")
            elif dtype not in ("float32", "float16", "bfloat16"):
                c.fail(f, name, "trainingDtype", f"must be float32/float16/bfloat16, got {dtype!r}")
            if is_int(e.get("heads")) and is_int(e.get("kvHeads")) and e["kvHeads"] and e["heads"] % e["kvHeads"]:
                c.fail(f, name, "kvHeads", f"{e['kvHeads']} does not divide heads {e['heads']}")
            sw = check_number(c, f, name, e, "slidingWindow", 16, 1 << 24, required=False, integer=True)
            gle = check_number(c, f, name, e, "globalLayerEvery", 2, 1024, required=False, integer=True)
            if gle is not None and sw is None:
                c.fail(f, name, "globalLayerEvery", "set without slidingWindow")
            if sw is not None and is_int(e.get("contextLength")) and sw >= e["contextLength"]:
                c.fail(f, name, "slidingWindow", f"{sw} is not smaller than contextLength {e['contextLength']}")
            if not check_moe(c, f, name, e):
                ok = False
            if ok and params is not None:
                est = approx_params(e)
                if abs(est - params) > 0.03 * params:
                    c.fail(f, name, "parameters", f"{params:,} disagrees with the hyperparameters (~{est:,}; >3% apart)")
        elif kind in OTHER_KINDS:
            for key in MOE_KEYS:
                if key in e:
                    c.fail(f, name, key, "only for transformer entries")
            check_number(c, f, name, e, "inputResolution", 16, 16384, integer=True)
            if kind in ("cnn", "detector"):
                has_gf = "gflopsPerImage" in e
                has_gm = "gmacsPerImage" in e
                if not (has_gf or has_gm):
                    c.fail(f, name, "gflopsPerImage", "cnn/detector entries need gflopsPerImage or gmacsPerImage")
                if has_gf:
                    check_number(c, f, name, e, "gflopsPerImage", 0.01, 1e5)
                if has_gm:
                    check_number(c, f, name, e, "gmacsPerImage", 0.01, 1e5)
                check_number(c, f, name, e, "activationBytesPerImageTraining", 1e4, 1e12, required=False, integer=True)
                if "components" in e:
                    c.fail(f, name, "components", "only for diffusion entries")
            else:
                comps = e.get("components")
                if not isinstance(comps, list) or not comps:
                    c.fail(f, name, "components", "diffusion entries need a non-empty list of {name, parameters}")
                else:
                    total = 0
                    for j, comp in enumerate(comps):
                        if (not isinstance(comp, dict) or not isinstance(comp.get("name"), str)
                                or not is_int(comp.get("parameters")) or comp["parameters"] <= 0
                                or set(comp) - {"name", "parameters"}):
                            c.fail(f, name, f"components[{j}]", "must be {name: string, parameters: positive integer}")
                        else:
                            total += comp["parameters"]
                    if params is not None and total and abs(total - params) > 0.005 * params:
                        c.fail(f, name, "parameters", f"{params:,} is not the sum of components ({total:,})")
            peak = check_number(c, f, name, e, "measuredPeakBytes", 1e6, 1e13, required=False, integer=True)
            if peak is not None and not isinstance(e.get("measuredPeakNote"), str):
                c.fail(f, name, "measuredPeakNote", "required when measuredPeakBytes is set")
        else:
            c.fail(f, name, "kind", f"must be one of {sorted(TRANSFORMER_KINDS | OTHER_KINDS)}, got {kind!r}")


def load(c, path):
    f = os.path.relpath(path, ROOT)
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as err:
        c.fail(f, "-", "-", f"cannot read: {err}")
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        c.fail(f, "-", "-", f"not UTF-8: {err}")
        return None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        c.fail(f, "-", "-", f"invalid JSON: {err}")
        return None
    if not isinstance(doc, dict):
        c.fail(f, "-", "-", "top level must be an object")
        return None
    canonical = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if text != canonical:
        c.fail(f, "-", "-", "not formatted as 2-space-indented JSON with a trailing newline "
                            "(re-serialize with json.dumps(doc, indent=2, ensure_ascii=False))")
    return doc


def main(argv):
    directory = argv[1] if len(argv) > 1 else DEFAULT_DIR
    c = Checker()
    check_gpus(c, os.path.join(directory, "gpus.json"))
    check_models(c, os.path.join(directory, "models.json"))
    if c.problems:
        for p in c.problems:
            print(p, file=sys.stderr)
        print(f"check-catalogs: {len(c.problems)} problem(s)", file=sys.stderr)
        return 1
    print("check-catalogs: gpus.json and models.json OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
