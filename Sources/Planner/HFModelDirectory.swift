#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A Hugging Face model directory: `config.json` gives the shape, the safetensors headers give
/// every tensor's dtype and shape, so the weight bytes are exact without reading the weights.
public enum HFModelDirectory {
    public struct Error: Swift.Error, CustomStringConvertible {
        public var description: String
    }

    private struct Config: Decodable {
        var model_type: String?
        var num_hidden_layers: Int?
        var n_layer: Int?
        var hidden_size: Int?
        var n_embd: Int?
        var num_attention_heads: Int?
        var n_head: Int?
        var num_key_value_heads: Int?
        var head_dim: Int?
        var intermediate_size: Int?
        var n_inner: Int?
        var vocab_size: Int?
        var max_position_embeddings: Int?
        var n_positions: Int?
        var tie_word_embeddings: Bool?
        var sliding_window: Int?
        var sliding_window_pattern: Int?
        // Mixture of experts: Qwen3-MoE names them num_experts / moe_intermediate_size, Mixtral
        // num_local_experts with experts as wide as intermediate_size.
        var num_experts: Int?
        var num_local_experts: Int?
        var num_experts_per_tok: Int?
        var moe_intermediate_size: Int?
    }

    struct HeaderEntry: Decodable {
        var dtype: String?
        var shape: [Int64]?
    }

    /// Reads `directory/config.json` and every `*.safetensors` header in it.
    public static func load(_ directory: String) throws -> (shape: ModelShape, inventory: WeightInventory) {
        let configURL = URL(fileURLWithPath: directory).appendingPathComponent("config.json")
        guard let data = try? Data(contentsOf: configURL) else { throw Error(description: "\(configURL.path): cannot read config.json") }
        let c: Config
        do { c = try JSONDecoder().decode(Config.self, from: data) } catch {
            throw Error(description: "\(configURL.path): not a transformers config (\(error))")
        }
        func need(_ value: Int?, _ field: String) throws -> Int {
            guard let value, value > 0 else { throw Error(description: "\(configURL.path): field \(field) missing or not positive") }
            return value
        }
        let family = c.model_type ?? "llama"
        let layers = try need(c.num_hidden_layers ?? c.n_layer, "num_hidden_layers")
        let h = try need(c.hidden_size ?? c.n_embd, "hidden_size")
        let heads = try need(c.num_attention_heads ?? c.n_head, "num_attention_heads")
        let plain = ["gpt2", "bloom", "bert", "distilbert", "gpt_neox"].contains(family)
        let shape = ModelShape(
            name: URL(fileURLWithPath: directory).lastPathComponent, family: family == "gemma3_text" ? "gemma3" : family,
            layers: layers, embeddingLength: h, heads: heads, kvHeads: c.num_key_value_heads ?? heads,
            headDim: c.head_dim ?? h / heads, feedForwardLength: c.intermediate_size ?? c.n_inner ?? 4 * h,
            vocabularySize: try need(c.vocab_size, "vocab_size"),
            contextLength: c.max_position_embeddings ?? c.n_positions ?? 2048, mlp: plain ? .plain : .gated,
            tiedEmbeddings: c.tie_word_embeddings ?? plain,
            // Qwen3 and Gemma 3 normalize q and k per head (one head_dim-long weight each per layer).
            qkNorm: ["qwen3", "qwen3_moe", "gemma3", "gemma3_text"].contains(family), positions: family == "gpt2" ? .learned : .rope,
            slidingWindow: c.sliding_window_pattern != nil ? c.sliding_window : nil, globalLayerEvery: c.sliding_window_pattern,
            experts: c.num_experts ?? c.num_local_experts, activeExperts: c.num_experts_per_tok,
            expertFeedForwardLength: c.moe_intermediate_size ?? (c.num_local_experts != nil ? c.intermediate_size : nil))

        let files = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".safetensors") }
            .sorted()
        guard !files.isEmpty else {
            return (shape, WeightInventory(shape: shape, dtype: .bf16))
        }
        var entries: [WeightInventory.Entry] = []
        var headerBytes: Int64 = 0
        for file in files {
            let path = directory + "/" + file
            let (header, size) = try readHeader(path)
            headerBytes += Int64(size) + 8
            for (name, entry) in header where name != "__metadata__" {
                guard let dtype = entry.dtype, let dims = entry.shape else { continue }
                let elements = dims.reduce(Int64(1), *)
                let width: Double
                switch dtype {
                case "F64", "I64": width = 8
                case "F32", "I32": width = 4
                case "F16", "BF16", "I16": width = 2
                case "F8_E4M3", "F8_E5M2", "I8", "U8", "BOOL": width = 1
                default: throw Error(description: "\(path): tensor \(name) has dtype \(dtype); expected F32/F16/BF16/F8/I8")
                }
                let role = hfRole(name)
                entries.append(
                    WeightInventory.Entry(
                        name: name, layer: hfLayer(name), role: role, elements: elements,
                        bytes: Int64(Double(elements) * width), typeName: dtype))
            }
        }
        return (
            shape,
            WeightInventory(
                entries: entries, overheadBytes: headerBytes, basis: "safetensors headers in \(directory)",
                activeExpertFraction: shape.activeExpertFraction)
        )
    }

    /// The JSON header of a safetensors file: an 8-byte little-endian length, then the JSON.
    static func readHeader(_ path: String) throws -> ([String: HeaderEntry], Int) {
        guard let handle = fopen(path, "rb") else { throw Error(description: "\(path): cannot open") }
        defer { fclose(handle) }
        var prefix = [UInt8](repeating: 0, count: 8)
        guard fread(&prefix, 1, 8, handle) == 8 else { throw Error(description: "\(path): shorter than the 8-byte header length") }
        let length = prefix.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self).littleEndian }
        // The format caps headers at 100 MB; anything larger is a hostile or corrupt file.
        guard length > 0, length <= 100_000_000 else { throw Error(description: "\(path): header length \(length); expected 1…100000000") }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        let read = fread(&bytes, 1, bytes.count, handle)
        guard read == bytes.count else { throw Error(description: "\(path): truncated header (\(read) of \(length) bytes)") }
        let json = Data(bytes)
        do { return (try JSONDecoder().decode([String: HeaderEntry].self, from: json), Int(length)) } catch {
            throw Error(description: "\(path): header is not safetensors JSON (\(error))")
        }
    }

    static func hfLayer(_ name: String) -> Int? {
        let parts = name.split(separator: ".")
        for (i, part) in parts.enumerated() where (part == "layers" || part == "h" || part == "layer") && i + 1 < parts.count {
            if let n = Int(parts[i + 1]) { return n }
        }
        return nil
    }

    static func hfRole(_ name: String) -> TensorRole {
        if name.hasSuffix(".bias") { return .bias }
        if name.contains("embed_tokens") || name.contains("wte") || name.contains("word_embeddings") { return .tokenEmbedding }
        if name.contains("lm_head") { return .output }
        if name.contains("norm") || name.contains("ln_") { return .norm }
        // Expert MLPs (`mlp.experts.7.gate_proj`, Mixtral's `block_sparse_moe.experts.7.w1`) and the router.
        if name.contains(".experts.") {
            if name.contains("gate_proj") || name.contains(".w1.") { return .ffnGateExperts }
            if name.contains("up_proj") || name.contains(".w3.") { return .ffnUpExperts }
            if name.contains("down_proj") || name.contains(".w2.") { return .ffnDownExperts }
        }
        if name.hasSuffix("mlp.gate.weight") || name.hasSuffix("block_sparse_moe.gate.weight") { return .ffnRouter }
        if name.contains("q_proj") { return .attentionQ }
        if name.contains("k_proj") { return .attentionK }
        if name.contains("v_proj") { return .attentionV }
        if name.contains("o_proj") { return .attentionOutput }
        if name.contains("gate_proj") { return .ffnGate }
        if name.contains("up_proj") { return .ffnUp }
        if name.contains("down_proj") { return .ffnDown }
        return .other
    }
}
