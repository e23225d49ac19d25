import GGUF

extension LoRAAdapter {
    /// The adapter as llama.cpp reads it: metadata as `convert_lora_to_gguf.py` writes it, then
    /// each pair's `lora_a` and `lora_b` as F32, in model order. Atomic (GGUFWriter).
    public func serialized() throws -> GGUFWriter {
        var metadata = GGUFMetadata()
        metadata["general.architecture"] = .string(architecture)
        metadata["general.type"] = .string("adapter")
        if let name { metadata["general.name"] = .string(name) }
        metadata["adapter.type"] = .string("lora")
        metadata["adapter.lora.alpha"] = .float32(alpha)
        for entry in information.entries where !Self.reservedKeys.contains(entry.key) { metadata[entry.key] = entry.value }
        var writer = GGUFWriter(metadata: metadata)
        for base in orderedNames {
            let pair = pairs[base]!
            try writer.addTensor(name: base + ".lora_a", type: .f32, dimensions: pair.aDimensions, data: Self.bytes(pair.a))
            try writer.addTensor(name: base + ".lora_b", type: .f32, dimensions: pair.bDimensions, data: Self.bytes(pair.b))
        }
        return writer
    }

    public func write(to path: String) throws {
        guard alpha.isFinite else { throw AdapterError("\(path): alpha \(alpha) is not finite") }
        for (base, pair) in pairs {
            if let bad = (pair.a + pair.b).first(where: { !$0.isFinite }) {
                throw AdapterError("\(path): the pair for \(base) holds \(bad); an adapter's values must be finite")
            }
        }
        try serialized().write(to: path)
    }

    static func bytes(_ values: [Float]) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(values.count * 4)
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { out += $0 } }
        return out
    }
}
