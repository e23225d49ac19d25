import GGUF

/// What the planner needs to know about a transformer: its hyperparameters, enough to list every
/// weight matrix, size the KV cache and count FLOPs. Comes from a GGUF file, an HF `config.json`, or
/// the model catalog.
public struct ModelShape: Codable, Sendable, Equatable {
    public enum MLP: String, Codable, Sendable { case gated, plain }
    public enum Positions: String, Codable, Sendable { case rope, learned, alibi }

    public var name: String
    /// llama, gemma3, qwen2, mistral, phi3, gpt2, gpt3, bloom, bert, distilbert…
    public var family: String
    public var layers: Int
    public var embeddingLength: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var feedForwardLength: Int
    public var vocabularySize: Int
    public var contextLength: Int
    public var mlp: MLP
    public var tiedEmbeddings: Bool
    public var attentionBias: Bool
    public var qkNorm: Bool
    public var positions: Positions
    /// Sliding-window attention: every `globalLayerEvery`-th layer (1-based) attends to the whole
    /// context, the others to the last `slidingWindow` tokens (Gemma 3: 5 local, 1 global).
    public var slidingWindow: Int?
    public var globalLayerEvery: Int?
    /// Encoders (BERT) have no causal LM head.
    public var isEncoder: Bool
    /// Mixture of experts (Qwen3-30B-A3B): every layer's MLP is `experts` gated MLPs of width
    /// `expertFeedForwardLength` and a router; a token runs through `activeExperts` of them. All
    /// experts are resident; only the active ones are read and multiplied per token.
    public var experts: Int?
    public var activeExperts: Int?
    public var expertFeedForwardLength: Int?

    public init(
        name: String, family: String, layers: Int, embeddingLength: Int, heads: Int, kvHeads: Int, headDim: Int,
        feedForwardLength: Int, vocabularySize: Int, contextLength: Int, mlp: MLP = .gated, tiedEmbeddings: Bool = false,
        attentionBias: Bool = false, qkNorm: Bool = false, positions: Positions = .rope,
        slidingWindow: Int? = nil, globalLayerEvery: Int? = nil, isEncoder: Bool = false,
        experts: Int? = nil, activeExperts: Int? = nil, expertFeedForwardLength: Int? = nil
    ) {
        self.name = name; self.family = family; self.layers = layers; self.embeddingLength = embeddingLength
        self.heads = heads; self.kvHeads = kvHeads; self.headDim = headDim; self.feedForwardLength = feedForwardLength
        self.vocabularySize = vocabularySize; self.contextLength = contextLength; self.mlp = mlp
        self.tiedEmbeddings = tiedEmbeddings; self.attentionBias = attentionBias; self.qkNorm = qkNorm
        self.positions = positions; self.slidingWindow = slidingWindow; self.globalLayerEvery = globalLayerEvery
        self.isEncoder = isEncoder
        self.experts = experts; self.activeExperts = activeExperts; self.expertFeedForwardLength = expertFeedForwardLength
    }

    /// The expert layout when the shape is a complete mixture of experts, nil for a dense model.
    public var mixtureOfExperts: (experts: Int, active: Int, width: Int)? {
        guard let experts, let activeExperts, let expertFeedForwardLength, experts > 0, activeExperts > 0,
            activeExperts <= experts, expertFeedForwardLength > 0
        else { return nil }
        return (experts, activeExperts, expertFeedForwardLength)
    }

    /// The share of the expert weights one token uses (1 for a dense model).
    public var activeExpertFraction: Double {
        mixtureOfExperts.map { Double($0.active) / Double($0.experts) } ?? 1
    }

    public var queryWidth: Int { heads * headDim }
    public var kvWidth: Int { kvHeads * headDim }

    /// Whether layer `i` (0-based) attends to the whole context.
    public func isGlobalLayer(_ i: Int) -> Bool {
        guard slidingWindow != nil, let every = globalLayerEvery, every > 0 else { return true }
        return (i + 1) % every == 0
    }

    /// Every weight of the model as GGUF would name it, with its row length (ggml `ne[0]`) and
    /// row count; the types are filled in by a `QuantMix` or a dense dtype.
    public func tensors() -> [TensorShape] {
        let h = embeddingLength, ff = feedForwardLength
        var out: [TensorShape] = [
            TensorShape(name: "token_embd.weight", layer: nil, role: .tokenEmbedding, rowLength: h, rows: vocabularySize)
        ]
        if positions == .learned {
            out.append(TensorShape(name: "position_embd.weight", layer: nil, role: .positionEmbedding, rowLength: h, rows: contextLength))
        }
        let layerNormHasBias = mlp == .plain
        func norm(_ name: String, _ layer: Int?, width: Int = h) {
            out.append(TensorShape(name: name + ".weight", layer: layer, role: .norm, rowLength: width, rows: 1))
            if layerNormHasBias { out.append(TensorShape(name: name + ".bias", layer: layer, role: .bias, rowLength: width, rows: 1)) }
        }
        if isEncoder { norm("token_embd_norm", nil) }
        for i in 0..<layers {
            let p = "blk.\(i)."
            func matrix(_ name: String, _ role: TensorRole, _ rowLength: Int, _ rows: Int, bias: Bool) {
                out.append(TensorShape(name: p + name + ".weight", layer: i, role: role, rowLength: rowLength, rows: rows))
                if bias { out.append(TensorShape(name: p + name + ".bias", layer: i, role: .bias, rowLength: rows, rows: 1)) }
            }
            norm(p + "attn_norm", i)
            if mlp == .plain {
                // GPT-2/BLOOM/BERT: fused QKV projection and biases everywhere.
                matrix("attn_qkv", .attentionQKV, h, queryWidth + 2 * kvWidth, bias: true)
                matrix("attn_output", .attentionOutput, queryWidth, h, bias: true)
                norm(p + "ffn_norm", i)
                matrix("ffn_up", .ffnUp, h, ff, bias: true)
                matrix("ffn_down", .ffnDown, ff, h, bias: true)
            } else {
                matrix("attn_q", .attentionQ, h, queryWidth, bias: attentionBias)
                matrix("attn_k", .attentionK, h, kvWidth, bias: attentionBias)
                matrix("attn_v", .attentionV, h, kvWidth, bias: attentionBias)
                if qkNorm {
                    out.append(TensorShape(name: p + "attn_q_norm.weight", layer: i, role: .norm, rowLength: headDim, rows: 1))
                    out.append(TensorShape(name: p + "attn_k_norm.weight", layer: i, role: .norm, rowLength: headDim, rows: 1))
                }
                matrix("attn_output", .attentionOutput, queryWidth, h, bias: false)
                if family == "gemma3" { norm(p + "post_attention_norm", i) }
                norm(p + "ffn_norm", i)
                if let moe = mixtureOfExperts {
                    // GGUF stacks the experts into one 3-D tensor per projection; rows of the
                    // gate and up stacks are `h` long, rows of the down stack one expert's width.
                    matrix("ffn_gate_inp", .ffnRouter, h, moe.experts, bias: false)
                    matrix("ffn_gate_exps", .ffnGateExperts, h, moe.experts * moe.width, bias: false)
                    matrix("ffn_up_exps", .ffnUpExperts, h, moe.experts * moe.width, bias: false)
                    matrix("ffn_down_exps", .ffnDownExperts, moe.width, moe.experts * h, bias: false)
                } else {
                    matrix("ffn_gate", .ffnGate, h, ff, bias: false)
                    matrix("ffn_up", .ffnUp, h, ff, bias: false)
                    matrix("ffn_down", .ffnDown, ff, h, bias: false)
                }
                if family == "gemma3" { norm(p + "post_ffw_norm", i) }
            }
        }
        if !isEncoder {
            norm("output_norm", nil)
            if !tiedEmbeddings {
                out.append(TensorShape(name: "output.weight", layer: nil, role: .output, rowLength: h, rows: vocabularySize))
            }
        }
        return out
    }

    /// Parameters implied by the shape (the sum over `tensors()`).
    public var parameterCount: Int64 { tensors().reduce(0) { $0 + $1.elements } }

    /// Parameters one token uses: all of them for a dense model; for a mixture of experts the
    /// shared weights plus `activeExperts` of the experts.
    public var activeParameterCount: Int64 {
        let fraction = activeExpertFraction
        return tensors().reduce(0) { $0 + ($1.role.isExpertStack ? Int64((Double($1.elements) * fraction).rounded()) : $1.elements) }
    }
}

/// What a weight does; quantization mixes and offload rules depend on it.
public enum TensorRole: String, Codable, Sendable {
    case tokenEmbedding, positionEmbedding, output, norm, bias
    case attentionQ, attentionK, attentionV, attentionQKV, attentionOutput
    case ffnGate, ffnUp, ffnDown
    /// Mixture of experts: the router and the stacked expert projections.
    case ffnRouter, ffnGateExperts, ffnUpExperts, ffnDownExperts
    case other

    /// A stack of expert matrices, of which a token reads only the active share.
    public var isExpertStack: Bool { self == .ffnGateExperts || self == .ffnUpExperts || self == .ffnDownExperts }

    /// Reads a GGUF tensor name (`blk.3.attn_v.weight`, `output.weight`…).
    public static func of(ggufName name: String) -> (role: TensorRole, layer: Int?) {
        var layer: Int?
        var rest = Substring(name)
        if rest.hasPrefix("blk.") {
            let afterPrefix = rest.dropFirst(4)
            if let dot = afterPrefix.firstIndex(of: "."), let n = Int(afterPrefix[..<dot]) {
                layer = n
                rest = afterPrefix[afterPrefix.index(after: dot)...]
            }
        }
        if rest.hasSuffix(".bias") { return (.bias, layer) }
        let stem = rest.hasSuffix(".weight") ? rest.dropLast(7) : rest
        let role: TensorRole
        switch stem {
        case "token_embd": role = .tokenEmbedding
        case "position_embd": role = .positionEmbedding
        case "output": role = .output
        case "attn_q": role = .attentionQ
        case "attn_k": role = .attentionK
        case "attn_v": role = .attentionV
        case "attn_qkv": role = .attentionQKV
        case "attn_output": role = .attentionOutput
        case "ffn_gate": role = .ffnGate
        case "ffn_up": role = .ffnUp
        case "ffn_down": role = .ffnDown
        case "ffn_gate_inp": role = .ffnRouter
        case "ffn_gate_exps": role = .ffnGateExperts
        case "ffn_up_exps": role = .ffnUpExperts
        case "ffn_down_exps": role = .ffnDownExperts
        default: role = stem.hasSuffix("norm") ? .norm : .other
        }
        return (role, layer)
    }
}

/// One weight before a storage type is chosen.
public struct TensorShape: Sendable, Equatable {
    public var name: String
    public var layer: Int?
    public var role: TensorRole
    /// Elements per row (ggml `ne[0]`), which block quantization needs to divide.
    public var rowLength: Int
    public var rows: Int
    public var elements: Int64 { Int64(rowLength) * Int64(rows) }
}

extension ModelShape {
    public struct MetadataError: Error, CustomStringConvertible {
        public var description: String
    }

    /// The shape a GGUF file declares in its `<arch>.*` metadata.
    public init(file: GGUFFile) throws {
        let meta = file.metadata
        guard let arch = meta.architecture else { throw MetadataError(description: "\(file.source): general.architecture missing") }
        func int(_ key: String) throws -> Int {
            guard let v = meta.integer(arch + "." + key), v > 0, v < 1 << 31 else {
                throw MetadataError(description: "\(file.source): \(arch).\(key) missing or out of range; expected a positive integer")
            }
            return Int(v)
        }
        let h = try int("embedding_length")
        let heads = try int("attention.head_count")
        let vocabulary =
            meta.array("tokenizer.ggml.tokens").map { Int($0.count) }
            ?? file.tensor(named: "token_embd.weight").map { Int($0.dimensions.last ?? 0) } ?? 0
        guard vocabulary > 0 else {
            throw MetadataError(description: "\(file.source): no tokenizer.ggml.tokens and no token_embd.weight to size the vocabulary")
        }
        let window = meta.integer(arch + ".attention.sliding_window").map(Int.init)
        let expertCount = meta.integer(arch + ".expert_count").flatMap { $0 > 0 && $0 < 1 << 16 ? Int($0) : nil }
        let plain = ["gpt2", "bloom", "bert", "starcoder", "gptneox"].contains(arch)
        self.init(
            name: meta.string("general.name") ?? file.source, family: arch, layers: try int("block_count"),
            embeddingLength: h, heads: heads, kvHeads: (try? int("attention.head_count_kv")) ?? heads,
            headDim: (try? int("attention.key_length")) ?? h / heads, feedForwardLength: try int("feed_forward_length"),
            vocabularySize: vocabulary, contextLength: (try? int("context_length")) ?? 2048, mlp: plain ? .plain : .gated,
            tiedEmbeddings: file.tensor(named: "output.weight") == nil, attentionBias: file.tensor(named: "blk.0.attn_q.bias") != nil,
            qkNorm: file.tensor(named: "blk.0.attn_q_norm.weight") != nil,
            positions: file.tensor(named: "position_embd.weight") != nil ? .learned : .rope,
            // Gemma 3 alternates 5 sliding-window layers with 1 global one (llama.cpp hard-codes the pattern).
            slidingWindow: arch == "gemma3" ? window : nil, globalLayerEvery: arch == "gemma3" && window != nil ? 6 : nil,
            isEncoder: arch == "bert", experts: expertCount,
            activeExperts: meta.integer(arch + ".expert_used_count").flatMap { $0 > 0 && $0 < 1 << 16 ? Int($0) : nil },
            expertFeedForwardLength: expertCount == nil ? nil : try? int("expert_feed_forward_length"))
    }
}
