import Adapters
import Foundation
import GGUF
import Quantization
import Testing

/// Validation against a base and merging, on a hand-made base: a Q8_0 and an F32 matrix.
@Suite struct MergeTests {
    static let inputs = 64, qOutputs = 8, vOutputs = 4

    /// A llama-architecture base: blk.0.attn_q.weight Q8_0 [64, 8], blk.0.attn_v.weight F32 [64, 4],
    /// a norm vector, and metadata to be copied.
    static func base() throws -> (file: GGUFFile, q: [Float], v: [Float]) {
        var generator = AdapterFixtures.Generator(seed: 99)
        let q = generator.values(inputs * qOutputs, amplitude: 1)
        let v = generator.values(inputs * vOutputs, amplitude: 1)
        var quantized = [UInt8](repeating: 0, count: Int(GGMLType.q8_0.byteCount(elements: Int64(q.count))!))
        q.withUnsafeBufferPointer { source in
            quantized.withUnsafeMutableBytes {
                Quantization.quantize(.q8_0, from: source.baseAddress!, to: $0.baseAddress!, count: q.count)
            }
        }
        var w = GGUFWriter(
            metadata: GGUFMetadata([
                ("general.architecture", .string("llama")), ("general.name", .string("tiny base")), ("llama.block_count", .uint32(1)),
            ]))
        try w.addTensor(
            name: "blk.0.attn_norm.weight", type: .f32, dimensions: [Int64(inputs)],
            data: AdapterFixtures.bytes(.init(repeating: 1, count: inputs)))
        try w.addTensor(name: "blk.0.attn_q.weight", type: .q8_0, dimensions: [Int64(inputs), Int64(qOutputs)], data: quantized)
        try w.addTensor(
            name: "blk.0.attn_v.weight", type: .f32, dimensions: [Int64(inputs), Int64(vOutputs)], data: AdapterFixtures.bytes(v))
        // A file per call: the suite's tests run in parallel, and two writes of one path in one
        // process share AtomicFile's temporary (`path.tmp-PID`), so one rename found it gone.
        let path = AdapterFixtures.temporaryPath("base-\(UUID().uuidString).gguf")
        try w.write(to: path)
        let file = try GGUFFile(path: path)
        // The Q8_0 weights as stored (dequantized): what the merge starts from.
        var stored = [Float](repeating: 0, count: q.count)
        Quantization.dequantize(
            .q8_0, from: file.data(for: file.tensor(named: "blk.0.attn_q.weight")!).baseAddress!, to: &stored, count: q.count)
        return (file, stored, v)
    }

    static func adapter(alpha: Float = 8, seed: UInt64 = 5) throws -> LoRAAdapter {
        LoRAAdapter(
            architecture: "llama", alpha: alpha,
            pairs: [
                "blk.0.attn_q.weight": try AdapterFixtures.pair(rank: 4, inputs: inputs, outputs: qOutputs, seed: seed),
                "blk.0.attn_v.weight": try AdapterFixtures.pair(rank: 2, inputs: inputs, outputs: vOutputs, seed: seed + 1),
            ])
    }

    /// W + s·B·A in float64, rounded once (s = userScale·alpha/rank).
    static func exact(_ w: [Float], _ pairs: [(LoRAPair, Double)]) -> [Float] {
        let n = pairs[0].0.inputs
        return w.indices.map { index in
            let o = index / n, i = index % n
            var value = Double(w[index])
            for (pair, scale) in pairs {
                var sum = 0.0
                for k in 0..<pair.rank { sum += Double(pair.b[o * pair.rank + k]) * Double(pair.a[k * n + i]) }
                value += scale * sum
            }
            return Float(value)
        }
    }

    func floats(_ file: GGUFFile, _ name: String) -> [Float] {
        let tensor = file.tensor(named: name)!
        var out = [Float](repeating: 0, count: Int(tensor.elementCount))
        Quantization.dequantize(tensor.type, from: file.data(for: tensor).baseAddress!, to: &out, count: out.count)
        return out
    }

    @Test func mergeAsF32EqualsExactComputation() throws {
        let (base, q, v) = try Self.base()
        let first = try Self.adapter(), second = try Self.adapter(alpha: 0, seed: 40)
        let out = AdapterFixtures.temporaryPath("merged-f32.gguf")
        try LoRAMerge.merge(base: base, adapters: [(first, 0.5), (second, 2)], outputType: .f32, to: out)
        let merged = try GGUFFile(path: out)

        // Metadata and the untouched tensor are copied verbatim, tensor order kept.
        #expect(merged.metadata == base.metadata)
        #expect(merged.tensors.map(\.name) == base.tensors.map(\.name))
        let norm = base.tensor(named: "blk.0.attn_norm.weight")!, mergedNorm = merged.tensor(named: "blk.0.attn_norm.weight")!
        #expect(mergedNorm.type == .f32 && Array(merged.data(for: mergedNorm)) == Array(base.data(for: norm)))

        // scale = user scale × alpha / rank; alpha 0 → the user scale alone (llama.cpp).
        let name = "blk.0.attn_q.weight", vName = "blk.0.attn_v.weight"
        let expectedQ = Self.exact(q, [(first.pairs[name]!, 0.5 * 8 / 4), (second.pairs[name]!, 2)])
        let expectedV = Self.exact(v, [(first.pairs[vName]!, 0.5 * 8 / 2), (second.pairs[vName]!, 2)])
        #expect(merged.tensor(named: name)?.type == .f32)
        #expect(floats(merged, name) == expectedQ)
        #expect(floats(merged, vName) == expectedV)
        #expect(expectedQ != q, "the adapter must change the weights")
    }

    @Test func defaultTypeIsF16ExceptForF32() throws {
        let (base, q, v) = try Self.base()
        let adapter = try Self.adapter()
        let out = AdapterFixtures.temporaryPath("merged-default.gguf")
        try LoRAMerge.merge(base: base, adapters: [(adapter, 1)], to: out)
        let merged = try GGUFFile(path: out)
        #expect(merged.tensor(named: "blk.0.attn_q.weight")?.type == .f16)
        #expect(merged.tensor(named: "blk.0.attn_v.weight")?.type == .f32)
        let expected = Self.exact(q, [(adapter.pairs["blk.0.attn_q.weight"]!, 2)]).map { Float(Float16($0)) }
        #expect(floats(merged, "blk.0.attn_q.weight") == expected)
        #expect(floats(merged, "blk.0.attn_v.weight") == Self.exact(v, [(adapter.pairs["blk.0.attn_v.weight"]!, 4)]))
    }

    @Test func mergeIntoQ8_0QuantizesTheExactResult() throws {
        let (base, q, _) = try Self.base()
        let adapter = try Self.adapter()
        let out = AdapterFixtures.temporaryPath("merged-q8.gguf")
        try LoRAMerge.merge(base: base, adapters: [(adapter, 1)], outputType: .q8_0, to: out)
        let merged = try GGUFFile(path: out)
        let exact = Self.exact(q, [(adapter.pairs["blk.0.attn_q.weight"]!, 2)])
        var expected = [UInt8](repeating: 0, count: Int(GGMLType.q8_0.byteCount(elements: Int64(exact.count))!))
        exact.withUnsafeBufferPointer { source in
            expected.withUnsafeMutableBytes {
                Quantization.quantize(.q8_0, from: source.baseAddress!, to: $0.baseAddress!, count: exact.count)
            }
        }
        #expect(Array(merged.data(for: merged.tensor(named: "blk.0.attn_q.weight")!)) == expected)
    }

    @Test func mergeRefusesAFailedCheckAndLeavesNoFile() throws {
        let (base, _, _) = try Self.base()
        var adapter = try Self.adapter()
        adapter.architecture = "gemma3"
        let out = AdapterFixtures.temporaryPath("merged-refused.gguf")
        #expect(throws: AdapterError.self) { try LoRAMerge.merge(base: base, adapters: [(adapter, 1)], to: out) }
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(!FileManager.default.fileExists(atPath: out + ".tmp-\(getpid())"))
        // Q4_K needs rows that are multiples of 256; these have 64.
        #expect(throws: AdapterError.self) {
            try LoRAMerge.merge(base: base, adapters: [(try Self.adapter(), 1)], outputType: .q4_K, to: out)
        }
    }

    // MARK: validation against a base

    func expectInvalid(_ adapter: LoRAAdapter, against base: GGUFFile, mentioning parts: [String]) {
        do {
            try adapter.validate(against: base)
            Issue.record("accepted")
        } catch {
            for part in parts { #expect("\(error)".contains(part), "\(error) should mention \(part)") }
        }
    }

    @Test func validationRefusesAnotherArchitecture() throws {
        let (base, _, _) = try Self.base()
        var adapter = try Self.adapter()
        adapter.architecture = "gemma3"
        adapter.source = "my.gguf"
        expectInvalid(adapter, against: base, mentioning: ["adapter my.gguf was trained for gemma3, the model", "is llama"])
    }

    @Test func validationRefusesAnotherBase() throws {
        let (base, _, _) = try Self.base()
        var adapter = try Self.adapter()
        adapter.pairs["blk.0.attn_q.weight"] = try AdapterFixtures.pair(rank: 4, inputs: 32, outputs: 8, seed: 1)
        expectInvalid(adapter, against: base, mentioning: ["for another base model", "blk.0.attn_q.weight", "[64, 8]", "[32, 8]"])
        adapter = try Self.adapter()
        adapter.pairs["blk.7.attn_q.weight"] = try AdapterFixtures.pair(rank: 4, inputs: 64, outputs: 8, seed: 1)
        expectInvalid(adapter, against: base, mentioning: ["for another base model", "blk.7.attn_q.weight"])
    }

    @Test func validationRefusesTheEmbedding() throws {
        let (base, _, _) = try Self.base()
        var adapter = try Self.adapter()
        adapter.pairs["token_embd.weight"] = try AdapterFixtures.pair(rank: 4, inputs: 64, outputs: 8, seed: 1)
        expectInvalid(adapter, against: base, mentioning: ["token_embd.weight", "not supported"])
    }

    @Test func streamingWriterRefusesAWrongByteCount() throws {
        let w = GGUFWriter(metadata: GGUFMetadata([("general.architecture", .string("llama"))]))
        let description = try GGUFWriter.TensorDescription(name: "t", type: .f32, dimensions: [4])
        let out = AdapterFixtures.temporaryPath("short.gguf")
        #expect(throws: GGUFError.self) {
            try w.write(to: out, tensors: [description]) { _, emit in try [Float](repeating: 1, count: 3).withUnsafeBytes { try emit($0) } }
        }
        #expect(!FileManager.default.fileExists(atPath: out))
        try w.write(to: out, tensors: [description]) { _, emit in try [Float](repeating: 1, count: 4).withUnsafeBytes { try emit($0) } }
        #expect(try GGUFFile(path: out).tensor(named: "t")?.dimensions == [4])
    }
}
