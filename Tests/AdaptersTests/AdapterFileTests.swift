import Adapters
import Foundation
import GGUF
import Testing

/// The file format as llama.cpp writes (`convert_lora_to_gguf.py`) and checks it
/// (`llama_adapter_lora_init_impl`), and every refusal of a hostile file.
@Suite struct AdapterFileTests {
    static func sample() throws -> LoRAAdapter {
        var information = GGUFMetadata()
        information["adapter.atelier.steps"] = .uint32(200)
        return LoRAAdapter(
            architecture: "llama", alpha: 16,
            pairs: [
                "blk.0.attn_q.weight": try AdapterFixtures.pair(rank: 2, inputs: 8, outputs: 8, seed: 1),
                "blk.1.ffn_down.weight": try AdapterFixtures.pair(rank: 2, inputs: 16, outputs: 8, seed: 2),
            ],
            name: "sample", information: information)
    }

    @Test func roundTripKeepsEverythingAndFollowsLlamaCppLayout() throws {
        let adapter = try Self.sample()
        let path = AdapterFixtures.temporaryPath("roundtrip.gguf")
        try adapter.write(to: path)

        // Read back with the plain GGUF reader: the keys, types, names and shapes llama.cpp checks.
        let file = try GGUFFile(path: path)
        #expect(file.metadata["general.type"] == .string("adapter"))
        #expect(file.metadata["adapter.type"] == .string("lora"))
        #expect(file.metadata["general.architecture"] == .string("llama"))
        #expect(file.metadata["adapter.lora.alpha"] == .float32(16))
        #expect(file.metadata["general.name"] == .string("sample"))
        #expect(file.metadata["adapter.atelier.steps"] == .uint32(200))
        #expect(
            file.tensors.map(\.name) == [
                "blk.0.attn_q.weight.lora_a", "blk.0.attn_q.weight.lora_b", "blk.1.ffn_down.weight.lora_a", "blk.1.ffn_down.weight.lora_b",
            ])
        #expect(file.tensors.allSatisfy { $0.type == .f32 })
        // lora_a: [n_in, r]; lora_b: [r, n_out]; rank = lora_a ne[1] = lora_b ne[0].
        #expect(file.tensor(named: "blk.0.attn_q.weight.lora_a")?.dimensions == [8, 2])
        #expect(file.tensor(named: "blk.0.attn_q.weight.lora_b")?.dimensions == [2, 8])
        #expect(file.tensor(named: "blk.1.ffn_down.weight.lora_a")?.dimensions == [16, 2])
        #expect(file.tensor(named: "blk.1.ffn_down.weight.lora_b")?.dimensions == [2, 8])
        // Row-major A [r, n_in]: element (k, i) at k·n_in + i, as ggml lays out ne[0] = n_in.
        let a = file.data(for: file.tensor(named: "blk.1.ffn_down.weight.lora_a")!)
        let pair = adapter.pairs["blk.1.ffn_down.weight"]!
        #expect(a.loadUnaligned(fromByteOffset: 4 * (1 * 16 + 3), as: Float.self) == pair.a[1 * 16 + 3])

        let back = try LoRAAdapter.read(path: path)
        #expect(back.architecture == "llama" && back.alpha == 16 && back.name == "sample")
        #expect(back.pairs == adapter.pairs)
        #expect(back.information["adapter.atelier.steps"] == .uint32(200))
        #expect(back.source == path)
    }

    @Test func scaleFollowsLlamaCpp() {
        // llama_adapter_lora_weight::get_scale: alpha ? scale·alpha/rank : scale.
        #expect(LoRAAdapter.scale(alpha: 16, rank: 8, userScale: 1) == 2)
        #expect(LoRAAdapter.scale(alpha: 16, rank: 8, userScale: 0.5) == 1)
        #expect(LoRAAdapter.scale(alpha: 0, rank: 8, userScale: 0.75) == 0.75)
    }

    // MARK: hostile files

    /// A valid adapter's writer, to be damaged one way at a time.
    static func writer() throws -> GGUFWriter { try sample().serialized() }

    func expectRefusal(_ writer: GGUFWriter, _ name: String, mentioning parts: [String]) throws {
        let path = AdapterFixtures.temporaryPath(name)
        try writer.write(to: path)
        try expectRefusal(path: path, mentioning: parts)
    }

    func expectRefusal(path: String, mentioning parts: [String]) throws {
        do {
            _ = try LoRAAdapter.read(path: path)
            Issue.record("\(path) was accepted")
        } catch {
            let message = "\(error)"
            #expect(message.contains(path), "\(message)")
            for part in parts { #expect(message.contains(part), "\(message) should mention \(part)") }
        }
    }

    @Test func refusesAModelOrAnotherAdapterType() throws {
        var w = try Self.writer()
        w.metadata["general.type"] = .string("model")
        try expectRefusal(w, "type.gguf", mentioning: ["general.type", "\"model\"", "\"adapter\""])
        w = try Self.writer()
        w.metadata["general.type"] = nil
        try expectRefusal(w, "notype.gguf", mentioning: ["general.type is missing"])
        w = try Self.writer()
        w.metadata["adapter.type"] = .string("control_vector")
        try expectRefusal(w, "adaptertype.gguf", mentioning: ["adapter.type", "control_vector"])
    }

    @Test func refusesMissingOrMistypedAlpha() throws {
        var w = try Self.writer()
        w.metadata["adapter.lora.alpha"] = nil
        try expectRefusal(w, "noalpha.gguf", mentioning: ["adapter.lora.alpha is missing"])
        w = try Self.writer()
        w.metadata["adapter.lora.alpha"] = .float64(16)
        try expectRefusal(w, "alpha64.gguf", mentioning: ["adapter.lora.alpha", "FLOAT64", "FLOAT32"])
        w = try Self.writer()
        w.metadata["adapter.lora.alpha"] = .float32(.infinity)
        try expectRefusal(w, "alphainf.gguf", mentioning: ["adapter.lora.alpha", "finite"])
    }

    @Test func refusesHalfAPair() throws {
        let adapter = try Self.sample()
        var w = GGUFWriter(metadata: try Self.writer().metadata)
        let pair = adapter.pairs["blk.0.attn_q.weight"]!
        try w.addTensor(name: "blk.0.attn_q.weight.lora_a", type: .f32, dimensions: pair.aDimensions, data: AdapterFixtures.bytes(pair.a))
        try expectRefusal(w, "half.gguf", mentioning: ["blk.0.attn_q.weight.lora_b is missing"])
    }

    @Test func refusesRanksThatDiffer() throws {
        var w = GGUFWriter(metadata: try Self.writer().metadata)
        try w.addTensor(
            name: "blk.0.attn_q.weight.lora_a", type: .f32, dimensions: [8, 2],
            data: AdapterFixtures.bytes(.init(repeating: 0.1, count: 16)))
        try w.addTensor(
            name: "blk.0.attn_q.weight.lora_b", type: .f32, dimensions: [3, 8],
            data: AdapterFixtures.bytes(.init(repeating: 0.1, count: 24)))
        try expectRefusal(w, "ranks.gguf", mentioning: ["blk.0.attn_q.weight", "rank 2", "rank 3"])
    }

    @Test func refusesRankZero() throws {
        // GGUFWriter cannot write a zero dimension; patch lora_a's rank (its 2nd dimension) to 0.
        let (bytes, layout) = try Self.writer().serialize()
        var damaged = bytes
        let info = layout.tensorInfoOffsets[0]
        let nameLength = Int(bytes[info..<info + 8].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let secondDimension = info + 8 + nameLength + 4 + 8
        for i in 0..<8 { damaged[secondDimension + i] = 0 }
        let path = AdapterFixtures.temporaryPath("rank0.gguf")
        try Data(damaged).write(to: URL(fileURLWithPath: path))
        try expectRefusal(path: path, mentioning: ["blk.0.attn_q.weight.lora_a", "dimension 1"])
    }

    @Test func refusesUnsupportedTensorTypes() throws {
        var w = GGUFWriter(metadata: try Self.writer().metadata)
        try w.addTensor(name: "blk.0.attn_q.weight.lora_a", type: .i32, dimensions: [8, 2], data: [UInt8](repeating: 0, count: 64))
        try w.addTensor(
            name: "blk.0.attn_q.weight.lora_b", type: .f32, dimensions: [2, 8], data: AdapterFixtures.bytes(.init(repeating: 0, count: 16)))
        try expectRefusal(w, "i32.gguf", mentioning: ["blk.0.attn_q.weight.lora_a", "I32"])
    }

    @Test func refusesNonFiniteValues() throws {
        var w = GGUFWriter(metadata: try Self.writer().metadata)
        var b = [Float](repeating: 0.1, count: 16)
        b[5] = .nan
        try w.addTensor(
            name: "blk.0.attn_q.weight.lora_a", type: .f32, dimensions: [8, 2],
            data: AdapterFixtures.bytes(.init(repeating: 0.1, count: 16)))
        try w.addTensor(name: "blk.0.attn_q.weight.lora_b", type: .f32, dimensions: [2, 8], data: AdapterFixtures.bytes(b))
        try expectRefusal(w, "nan.gguf", mentioning: ["blk.0.attn_q.weight.lora_b", "nan", "element 5"])
        b[5] = -.infinity
        var w2 = GGUFWriter(metadata: try Self.writer().metadata)
        try w2.addTensor(name: "blk.0.attn_q.weight.lora_a", type: .f32, dimensions: [8, 2], data: AdapterFixtures.bytes(b))
        try w2.addTensor(
            name: "blk.0.attn_q.weight.lora_b", type: .f32, dimensions: [2, 8],
            data: AdapterFixtures.bytes(.init(repeating: 0.1, count: 16)))
        try expectRefusal(w2, "inf.gguf", mentioning: ["blk.0.attn_q.weight.lora_a", "inf"])
    }

    @Test func refusesATruncatedFile() throws {
        let (bytes, _) = try Self.writer().serialize()
        let path = AdapterFixtures.temporaryPath("truncated.gguf")
        try Data(bytes.dropLast(40)).write(to: URL(fileURLWithPath: path))
        try expectRefusal(path: path, mentioning: ["cannot read LoRA adapter"])
    }

    @Test func refusesTensorsThatAreNotHalvesOfPairs() throws {
        var w = try Self.writer()
        try w.addTensor(
            name: "blk.0.attn_q.weight", type: .f32, dimensions: [8, 8], data: AdapterFixtures.bytes(.init(repeating: 0, count: 64)))
        try expectRefusal(w, "stray.gguf", mentioning: ["blk.0.attn_q.weight", "neither a .lora_a nor a .lora_b"])
    }

    @Test func refusesActivatedLoRA() throws {
        var w = try Self.writer()
        w.metadata["adapter.alora.invocation_tokens"] = .array(.uint32([1, 2]))
        try expectRefusal(w, "alora.gguf", mentioning: ["aLoRA"])
    }
}
