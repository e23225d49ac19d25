import Compute
import Foundation
import GGUF
import Models
import Quantization

/// A tiny random Llama or Gemma 3 written with our GGUF writer, any tensor in any type: the
/// starting point for hostile variants (HostileModelTests) and for the loader fuzzer.
struct TinyModelFixture {
    var architecture = "llama"
    var d = 32, layers = 2, ff = 256, heads = 4, kvHeads = 2, vocab = 256, context = 64
    var slidingWindow = 8
    /// Tensor types by name; F32 when absent.
    var types: [String: GGMLType] = [:]
    var seed: UInt64 = 7
    var headDim: Int { d / heads }
    var isGemma: Bool { architecture == "gemma3" }

    /// Names, shapes (ggml order) and whether each tensor is a norm weight (values near 1).
    var tensorShapes: [(name: String, dims: [Int], norm: Bool)] {
        var list: [(String, [Int], Bool)] = [("token_embd.weight", [d, vocab], false), ("output_norm.weight", [d], true)]
        for l in 0..<layers {
            let b = "blk.\(l)."
            list += [
                (b + "attn_norm.weight", [d], true), (b + "attn_q.weight", [d, heads * headDim], false),
                (b + "attn_k.weight", [d, kvHeads * headDim], false), (b + "attn_v.weight", [d, kvHeads * headDim], false),
                (b + "attn_output.weight", [heads * headDim, d], false), (b + "ffn_norm.weight", [d], true),
                (b + "ffn_gate.weight", [d, ff], false), (b + "ffn_up.weight", [d, ff], false), (b + "ffn_down.weight", [ff, d], false),
            ]
            if isGemma {
                list += [
                    (b + "attn_q_norm.weight", [headDim], true), (b + "attn_k_norm.weight", [headDim], true),
                    (b + "post_attention_norm.weight", [d], true), (b + "post_ffw_norm.weight", [d], true),
                ]
            }
        }
        return list
    }

    /// The values every tensor holds before it is stored in its type.
    func values() -> [String: [Float]] {
        var random = TinyLlamaTests.Random(state: seed)
        var result: [String: [Float]] = [:]
        for (name, dims, norm) in tensorShapes {
            result[name] = (0..<dims.reduce(1, *)).map { _ in norm ? 1 + 0.2 * random.next() : 0.5 * random.next() }
        }
        return result
    }

    static func encode(_ values: [Float], as type: GGMLType) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: Int(type.byteCount(elements: Int64(values.count))!))
        bytes.withUnsafeMutableBytes { out in
            values.withUnsafeBufferPointer { Quantization.quantize(type, from: $0.baseAddress!, to: out.baseAddress!, count: values.count) }
        }
        return bytes
    }

    func writer(values: [String: [Float]]? = nil) throws -> GGUFWriter {
        let a = architecture
        var w = GGUFWriter()
        w.metadata["general.architecture"] = .string(a)
        w.metadata["\(a).context_length"] = .uint32(UInt32(context))
        w.metadata["\(a).embedding_length"] = .uint32(UInt32(d))
        w.metadata["\(a).block_count"] = .uint32(UInt32(layers))
        w.metadata["\(a).feed_forward_length"] = .uint32(UInt32(ff))
        w.metadata["\(a).attention.head_count"] = .uint32(UInt32(heads))
        w.metadata["\(a).attention.head_count_kv"] = .uint32(UInt32(kvHeads))
        w.metadata["\(a).attention.layer_norm_rms_epsilon"] = .float32(1e-5)
        w.metadata["\(a).rope.freq_base"] = .float32(10000)
        w.metadata["\(a).rope.dimension_count"] = .uint32(UInt32(headDim))
        if isGemma {
            w.metadata["\(a).attention.key_length"] = .uint32(UInt32(headDim))
            w.metadata["\(a).attention.value_length"] = .uint32(UInt32(headDim))
            w.metadata["\(a).attention.sliding_window"] = .uint32(UInt32(slidingWindow))
        }
        w.metadata["tokenizer.ggml.model"] = .string("gpt2")
        w.metadata["tokenizer.ggml.pre"] = .string("gpt2")
        w.metadata["tokenizer.ggml.tokens"] = .array(.string(TinyLlamaTests.byteTokens()))
        w.metadata["tokenizer.ggml.token_type"] = .array(.int32(Array(repeating: 1, count: 256)))
        w.metadata["tokenizer.ggml.merges"] = .array(.string([]))
        w.metadata["tokenizer.ggml.bos_token_id"] = .uint32(0)
        w.metadata["tokenizer.ggml.eos_token_id"] = .uint32(1)
        let values = values ?? self.values()
        for (name, dims, _) in tensorShapes {
            let type = types[name] ?? .f32
            try w.addTensor(name: name, type: type, dimensions: dims.map(Int64.init), data: Self.encode(values[name]!, as: type))
        }
        return w
    }

    static func load(_ w: GGUFWriter, threads: Int = 1) throws -> LoadedModel {
        let file = try GGUFFile(bytes: w.serialize().bytes, source: "<tiny>")
        return try ModelLoader.load(file: file, backend: CPUBackend(threads: threads))
    }

    /// Logits after `tokens`, evaluated in one batch.
    static func logits(_ model: LoadedModel, tokens: [Int32] = [5, 77, 200, 3], context: Int = 16) throws -> [Float] {
        try InferenceSession(model: model.model, contextLength: context, kvType: .f32).evaluate(tokens)
    }
}
