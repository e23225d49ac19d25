#!/usr/bin/env python3
"""Writes Tests/GGUFTests/Fixtures/gguf-py-small.gguf with gguf-py (PyPI gguf==0.19.0): every
scalar type, strings, arrays and a nested array, and three tensors. Development-time only."""
import sys

import numpy as np
from gguf import GGUFValueType, GGUFWriter, GGMLQuantizationType

out = sys.argv[1]
w = GGUFWriter(out, arch="llama")
w.add_uint8("test.u8", 200)
w.add_int8("test.i8", -100)
w.add_uint16("test.u16", 60000)
w.add_int16("test.i16", -30000)
w.add_uint32("test.u32", 4000000000)
w.add_int32("test.i32", -2000000000)
w.add_float32("test.f32", 3.25)
w.add_bool("test.bool", True)
w.add_string("test.string", "héllo wörld ✓ 日本")
w.add_uint64("test.u64", 18000000000000000000)
w.add_int64("test.i64", -9000000000000000000)
w.add_float64("test.f64", -2.5e-300)
w.add_array("test.strings", ["a", "", "ünï"])
w.add_array("test.ints", [1, -2, 3])
w.add_array("test.floats", [0.5, -1.5])
w.add_key_value("test.nested", [[1, 2], [3]], GGUFValueType.ARRAY, sub_type=GGUFValueType.ARRAY)
w.add_tensor("a.weight", np.arange(8, dtype=np.float32).reshape(2, 4))
w.add_tensor("b.weight", np.arange(3, dtype=np.float16))
q = np.frombuffer(bytes(range(18)) * 2, dtype=np.uint8).reshape(2, 18)
w.add_tensor("c.weight", q, raw_dtype=GGMLQuantizationType.Q4_0)
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
