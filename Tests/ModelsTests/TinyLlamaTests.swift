import Compute
import Foundation
import GGUF
import Models
import Testing

/// A tiny random Llama written with our GGUF writer: the forward pass must equal an
/// independent float64 implementation of the paper's equations, and malformed variants must
/// be rejected by name.
@Suite struct TinyLlamaTests {
    struct Shape {
        var d = 16, layers = 2, ff = 24, heads = 4, kvHeads = 2, vocab = 256, context = 32
        var headDim: Int { d / heads }
    }
    let shape = Shape()

    /// GPT-2's byte-to-character table: the vocabulary of a byte-level BPE with no merges.
    static func byteTokens() -> [String] {
        var printable = Array(33...126) + Array(161...172) + Array(174...255)
        var mapping = [Int: Int]()
        for b in printable { mapping[b] = b }
        var next = 256
        for b in 0..<256 where mapping[b] == nil {
            mapping[b] = next
            next += 1
        }
        printable.removeAll()
        return (0..<256).map { String(Character(Unicode.Scalar(UInt32(mapping[$0]!))!)) }
    }

    struct Random {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2000 - 1000) / 1000
        }
    }

    func writer(architecture: String = "llama", corruptType: Bool = false) throws -> (GGUFWriter, [String: [Float]]) {
        let s = shape
        var w = GGUFWriter()
        w.metadata["general.architecture"] = .string(architecture)
        w.metadata["\(architecture).context_length"] = .uint32(UInt32(s.context))
        w.metadata["\(architecture).embedding_length"] = .uint32(UInt32(s.d))
        w.metadata["\(architecture).block_count"] = .uint32(UInt32(s.layers))
        w.metadata["\(architecture).feed_forward_length"] = .uint32(UInt32(s.ff))
        w.metadata["\(architecture).attention.head_count"] = .uint32(UInt32(s.heads))
        w.metadata["\(architecture).attention.head_count_kv"] = .uint32(UInt32(s.kvHeads))
        w.metadata["\(architecture).attention.layer_norm_rms_epsilon"] = .float32(1e-5)
        w.metadata["\(architecture).rope.freq_base"] = .float32(10000)
        w.metadata["\(architecture).rope.dimension_count"] = .uint32(UInt32(s.headDim))
        w.metadata["tokenizer.ggml.model"] = .string("gpt2")
        w.metadata["tokenizer.ggml.pre"] = .string("gpt2")
        w.metadata["tokenizer.ggml.tokens"] = .array(.string(Self.byteTokens()))
        w.metadata["tokenizer.ggml.token_type"] = .array(.int32(Array(repeating: 1, count: 256)))
        w.metadata["tokenizer.ggml.merges"] = .array(.string([]))
        w.metadata["tokenizer.ggml.bos_token_id"] = .uint32(0)
        w.metadata["tokenizer.ggml.eos_token_id"] = .uint32(1)

        var random = Random(state: 7)
        var values: [String: [Float]] = [:]
        func add(_ name: String, _ dims: [Int], norm: Bool = false) throws {
            let count = dims.reduce(1, *)
            let v = (0..<count).map { _ in norm ? 1 + 0.2 * random.next() : 0.5 * random.next() }
            values[name] = v
            let bytes = v.withUnsafeBytes { Array($0) }
            let type: GGMLType = corruptType && name == "blk.1.ffn_up.weight" ? .iq2_XXS : .f32
            if type == .f32 {
                try w.addTensor(name: name, type: .f32, dimensions: dims.map(Int64.init), data: bytes)
            } else {
                try w.addTensor(name: name, type: type, dimensions: [256, Int64(s.ff)], data: [UInt8](repeating: 0, count: 66 * s.ff))
            }
        }
        try add("token_embd.weight", [s.d, s.vocab])
        try add("output_norm.weight", [s.d], norm: true)
        for l in 0..<s.layers {
            try add("blk.\(l).attn_norm.weight", [s.d], norm: true)
            try add("blk.\(l).attn_q.weight", [s.d, s.d])
            try add("blk.\(l).attn_k.weight", [s.d, s.kvHeads * s.headDim])
            try add("blk.\(l).attn_v.weight", [s.d, s.kvHeads * s.headDim])
            try add("blk.\(l).attn_output.weight", [s.d, s.d])
            try add("blk.\(l).ffn_norm.weight", [s.d], norm: true)
            try add("blk.\(l).ffn_gate.weight", [s.d, s.ff])
            try add("blk.\(l).ffn_up.weight", [s.d, s.ff])
            try add("blk.\(l).ffn_down.weight", [s.ff, s.d])
        }
        return (w, values)
    }

    func save(_ w: GGUFWriter) throws -> String {
        let path = NSTemporaryDirectory() + "tiny-llama-\(UUID().uuidString).gguf"
        try w.write(to: path)
        return path
    }

    /// The Llama equations in float64, written out independently of the engine.
    func referenceLogits(_ tokens: [Int], _ p: [String: [Float]]) -> [Double] {
        let s = shape, dh = s.headDim
        func weight(_ n: String) -> [Double] { p[n]!.map(Double.init) }
        func matvec(_ w: [Double], _ x: [Double], rows: Int) -> [Double] {
            (0..<rows).map { r in (0..<x.count).reduce(0.0) { $0 + w[r * x.count + $1] * x[$1] } }
        }
        func rmsNorm(_ x: [Double], _ w: [Double]) -> [Double] {
            let scale = 1 / (x.map { $0 * $0 }.reduce(0, +) / Double(x.count) + 1e-5).squareRoot()
            return zip(x, w).map { $0 * scale * $1 }
        }
        func rope(_ v: inout [Double], position: Int) {
            for head in 0..<(v.count / dh) {
                for i in 0..<(dh / 2) {
                    let theta = Double(position) * pow(10000, -2 * Double(i) / Double(dh))
                    let a = head * dh + 2 * i, b = a + 1
                    let (x0, x1) = (v[a], v[b])
                    v[a] = x0 * cos(theta) - x1 * sin(theta)
                    v[b] = x0 * sin(theta) + x1 * cos(theta)
                }
            }
        }
        let embedding = weight("token_embd.weight")
        var keys = [[[Double]]](repeating: [], count: s.layers), values = keys
        var logits: [Double] = []
        for (position, token) in tokens.enumerated() {
            var x = Array(embedding[(token * s.d)..<((token + 1) * s.d)])
            for l in 0..<s.layers {
                let h = rmsNorm(x, weight("blk.\(l).attn_norm.weight"))
                var q = matvec(weight("blk.\(l).attn_q.weight"), h, rows: s.d)
                var k = matvec(weight("blk.\(l).attn_k.weight"), h, rows: s.kvHeads * dh)
                let v = matvec(weight("blk.\(l).attn_v.weight"), h, rows: s.kvHeads * dh)
                rope(&q, position: position)
                rope(&k, position: position)
                keys[l].append(k)
                values[l].append(v)
                var attended = [Double](repeating: 0, count: s.d)
                for head in 0..<s.heads {
                    let g = head / (s.heads / s.kvHeads)
                    let scores = keys[l].map { key in
                        (0..<dh).reduce(0.0) { $0 + q[head * dh + $1] * key[g * dh + $1] } / Double(dh).squareRoot()
                    }
                    let m = scores.max()!
                    let e = scores.map { exp($0 - m) }
                    let total = e.reduce(0, +)
                    for (j, value) in values[l].enumerated() {
                        for i in 0..<dh { attended[head * dh + i] += e[j] / total * value[g * dh + i] }
                    }
                }
                x = zip(x, matvec(weight("blk.\(l).attn_output.weight"), attended, rows: s.d)).map(+)
                let f = rmsNorm(x, weight("blk.\(l).ffn_norm.weight"))
                let gate = matvec(weight("blk.\(l).ffn_gate.weight"), f, rows: s.ff)
                let up = matvec(weight("blk.\(l).ffn_up.weight"), f, rows: s.ff)
                let act = zip(gate, up).map { $0 / (1 + exp(-$0)) * $1 }
                x = zip(x, matvec(weight("blk.\(l).ffn_down.weight"), act, rows: s.d)).map(+)
            }
            logits = matvec(embedding, rmsNorm(x, weight("output_norm.weight")), rows: s.vocab)
        }
        return logits
    }

    @Test(arguments: [1, 2])
    func forwardPassEqualsFloat64Reference(threads: Int) throws {
        let (w, parameters) = try writer()
        let path = try save(w)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let loaded = try ModelLoader.load(path: path, backend: CPUBackend(threads: threads))
        let tokens = [5, 77, 200, 3, 3, 150, 9]
        let expected = referenceLogits(tokens, parameters)
        for batch in [1, 3, 7] {
            for kv in KVCacheType.allCases {
                let session = try InferenceSession(model: loaded.model, contextLength: 16, kvType: kv, batchCapacity: batch)
                let ours = try session.evaluate(tokens.map(Int32.init))
                let worst = zip(ours, expected).map { abs(Double($0) - $1) }.max()!
                // F32 weights and activations: only float32 rounding separates the two; an f16
                // cache adds a relative 2^-11 to keys, values and queries.
                #expect(worst < (kv == .f32 ? 1e-3 : 2e-2), "batch \(batch), \(kv) cache: worst logit difference \(worst)")
                if kv == .f16 { print("tiny llama f16 cache, batch \(batch): worst logit difference \(worst)") }
            }
        }
    }

    @Test func unsupportedArchitectureIsNamed() throws {
        let (w, _) = try writer(architecture: "rwkv6")
        let path = try save(w)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try ModelLoader.load(path: path, backend: CPUBackend(threads: 1))
            Issue.record("loaded an unsupported architecture")
        } catch {
            #expect("\(error)".contains("rwkv6") && "\(error)".contains("not supported"), "\(error)")
        }
    }

    @Test func unsupportedTensorTypeIsNamed() throws {
        let (w, _) = try writer(corruptType: true)
        let path = try save(w)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try ModelLoader.load(path: path, backend: CPUBackend(threads: 1))
            Issue.record("loaded a model with an IQ2_XXS tensor")
        } catch {
            #expect("\(error)".contains("blk.1.ffn_up.weight") && "\(error)".contains("IQ2_XXS"), "\(error)")
        }
    }

    @Test func missingTensorAndBadHyperparametersAreNamed() throws {
        var (w, _) = try writer()
        w.metadata["llama.attention.head_count_kv"] = .uint32(3)
        var path = try save(w)
        #expect(throws: ModelError.self) { try ModelLoader.load(path: path, backend: CPUBackend(threads: 1)) }
        try? FileManager.default.removeItem(atPath: path)

        (w, _) = try writer()
        w.metadata["llama.block_count"] = .uint32(100_000)
        path = try save(w)
        do {
            _ = try ModelLoader.load(path: path, backend: CPUBackend(threads: 1))
            Issue.record("accepted block_count 100000")
        } catch {
            #expect("\(error)".contains("block_count"), "\(error)")
        }
        try? FileManager.default.removeItem(atPath: path)

        (w, _) = try writer()
        w.metadata["llama.block_count"] = .uint32(3)  // blk.2.* does not exist
        path = try save(w)
        do {
            _ = try ModelLoader.load(path: path, backend: CPUBackend(threads: 1))
            Issue.record("accepted a missing block")
        } catch {
            #expect("\(error)".contains("blk.2.attn_norm.weight"), "\(error)")
        }
        try? FileManager.default.removeItem(atPath: path)
    }
}
