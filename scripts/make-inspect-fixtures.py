#!/usr/bin/env python3
"""Writes the reference values that `atelier inspect` is tested against, read with gguf-py.

Development-time only (never run by the tests):
    python3 -m pip install gguf==0.19.0
    python3 scripts/make-inspect-fixtures.py MODEL.gguf OUT.json
"""
import hashlib
import json
import os
import sys

import numpy as np
from gguf import GGUFReader, GGUFValueType


def scalar(value):
    if isinstance(value, (np.floating, float)):
        return float(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    return value


def field_summary(field):
    vtype = GGUFValueType(field.types[0])
    if vtype == GGUFValueType.ARRAY:
        etype = GGUFValueType(field.types[1]) if len(field.types) > 1 else None
        items = field.contents()
        entry = {"type": "ARRAY", "element_type": etype.name if etype else None, "count": len(field.data)}
        if etype == GGUFValueType.STRING:
            # Digest over (u64 length, bytes) of every element, so the whole array is compared.
            h = hashlib.sha256()
            for s in items:
                b = s.encode("utf-8")
                h.update(len(b).to_bytes(8, "little"))
                h.update(b)
            entry["sha256"] = h.hexdigest()
            entry["first"] = items[:3]
            entry["last"] = items[-3:]
        elif etype is not None and etype != GGUFValueType.ARRAY:
            entry["first"] = [scalar(x) for x in items[:3]]
            entry["last"] = [scalar(x) for x in items[-3:]]
            entry["sum"] = float(np.sum(np.array(items, dtype=np.float64)))
        return entry
    value = field.contents()
    if vtype == GGUFValueType.STRING and len(value) > 200:
        return {"type": vtype.name, "length": len(value.encode("utf-8")),
                "sha256": hashlib.sha256(value.encode("utf-8")).hexdigest()}
    return {"type": vtype.name, "value": scalar(value)}


def main(path, out):
    reader = GGUFReader(path)
    fields = {}
    for name, field in reader.fields.items():
        if name.startswith("GGUF."):
            continue
        fields[name] = field_summary(field)
    tensors = []
    by_type = {}
    for t in reader.tensors:
        tname = t.tensor_type.name
        tensors.append({
            "name": t.name,
            "type": tname,
            "shape": [int(x) for x in t.shape],
            "n_elements": int(t.n_elements),
            "n_bytes": int(t.n_bytes),
            "data_offset": int(t.data_offset),
        })
        agg = by_type.setdefault(tname, {"tensors": 0, "elements": 0, "bytes": 0})
        agg["tensors"] += 1
        agg["elements"] += int(t.n_elements)
        agg["bytes"] += int(t.n_bytes)
    result = {
        "generated_by": "scripts/make-inspect-fixtures.py with gguf-py (PyPI gguf==0.19.0)",
        "file": os.path.basename(path),
        "file_size": os.path.getsize(path),
        "version": int(reader.fields["GGUF.version"].contents()),
        "tensor_count": int(reader.fields["GGUF.tensor_count"].contents()),
        "kv_count": int(reader.fields["GGUF.kv_count"].contents()),
        "alignment": int(reader.alignment),
        "data_offset": int(reader.data_offset),
        "parameter_count": sum(t["n_elements"] for t in tensors),
        "tensor_bytes": sum(t["n_bytes"] for t in tensors),
        "by_type": by_type,
        "metadata": fields,
        "tensors": tensors,
    }
    with open(out, "w") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
