/// The runtime whose allocator is being replayed: each allocates differently, and a plan is only
/// exact for one of them.
public enum Engine: String, Codable, Sendable, CaseIterable {
    case atelier
    case llamaCpp = "llama.cpp"
}

public enum KVType: String, Codable, Sendable, CaseIterable {
    case f32, f16, q8_0, q4_0
    /// q8_0 is 34 bytes per 32 elements, not 1 byte (Ollama's 1.0 is 6 % low).
    public var bytesPerElement: Double {
        switch self {
        case .f32: return 4
        case .f16: return 2
        case .q8_0: return 34.0 / 32
        case .q4_0: return 18.0 / 32
        }
    }
}

/// How a model is run: the knobs that change memory.
public struct InferenceSettings: Codable, Sendable, Equatable {
    /// Total cells across parallel sequences (llama.cpp's `-c`, Ollama's num_ctx × num_parallel).
    public var contextLength: Int
    /// Tokens per forward pass (llama.cpp n_ubatch, Atelier `--batch`).
    public var batch: Int = 512
    public var kvType: KVType = .f16
    public var flashAttention: Bool = false
    public var parallel: Int = 1

    public init(contextLength: Int, batch: Int = 512, kvType: KVType = .f16, flashAttention: Bool = false, parallel: Int = 1) {
        self.contextLength = contextLength
        self.batch = batch
        self.kvType = kvType
        self.flashAttention = flashAttention
        self.parallel = parallel
    }

    var ubatch: Int { max(1, min(batch, contextLength)) }
}

/// The KV cache, layer by layer: `2 · n_kv · d_h · cells · bytes`, where sliding-window layers
/// hold only the window plus one batch.
public enum KVCacheModel {
    /// Cells layer `i` allocates.
    public static func cells(layer i: Int, shape: ModelShape, settings s: InferenceSettings, engine: Engine) -> Int {
        guard !shape.isGlobalLayer(i), let window = shape.slidingWindow else { return s.contextLength }
        switch engine {
        case .atelier:
            return min(s.contextLength, window + s.ubatch)
        case .llamaCpp:
            // llama.cpp: window × sequences + n_ubatch, padded to 256 (1024 cells for window 512 at
            // n_ubatch 512, V17).
            let wanted = window * s.parallel + s.ubatch
            return min(s.contextLength, (wanted + 255) / 256 * 256)
        }
    }

    public static func layerBytes(_ i: Int, shape: ModelShape, settings s: InferenceSettings, engine: Engine) -> Int64 {
        let kvType = engine == .atelier && s.kvType != .f32 ? KVType.f16 : s.kvType
        return Int64(
            (2 * Double(shape.kvWidth) * Double(cells(layer: i, shape: shape, settings: s, engine: engine)) * kvType.bytesPerElement)
                .rounded())
    }

    public static func bytes(shape: ModelShape, settings s: InferenceSettings, engine: Engine) -> Int64 {
        (0..<shape.layers).reduce(0) { $0 + layerBytes($1, shape: shape, settings: s, engine: engine) }
    }
}

/// Activation buffers a runtime reserves for one forward pass.
public enum ComputeBufferModel {
    /// llama.cpp's compute buffer on the main device, with every layer there. Without flash
    /// attention the f32 KQ matrix `n_ubatch × ctx × n_head` grows with the context; the other
    /// candidate is the f32 logits `n_ubatch × (n_embd + n_vocab)`. (Ollama `GraphSize`, llama
    /// branch; reproduces llama.cpp's logged 164.00 / 2144.00 / 5312.00 MiB, V1–V3.)
    public static func llamaCppFullOffload(shape m: ModelShape, settings s: InferenceSettings) -> Int64 {
        let b = Double(s.ubatch), h = Double(m.embeddingLength), ctx = Double(s.contextLength)
        let a = Double(m.heads), v = Double(m.vocabularySize)
        let attention =
            s.flashAttention
            ? 4 * b * (1 + 4 * h) + 2 * b * ctx  // KQ as f16 [n_kv, n_tokens] only
            : 4 * b * (1 + 4 * h + ctx * (1 + a))
        return Int64(max(attention, 4 * b * (h + v)))
    }

    /// The same when only some layers are on the GPU (Ollama `GraphSize` partialOffload): the
    /// attention candidate holds the f32 mask, one layer's K and V, a copy of a CPU layer's weight
    /// for a batched matmul and the attention scores; the other, the logits and a copy of the
    /// output matrix. Flash attention changes only the scores term (`attentionScoresBytes`).
    public static func llamaCppPartialOffload(shape m: ModelShape, settings s: InferenceSettings) -> Int64 {
        let b = Double(s.ubatch), h = Double(m.embeddingLength), ctx = Double(s.contextLength)
        let v = Double(m.vocabularySize)
        let dh = Double(m.headDim), kv = Double(m.kvHeads)
        let attention =
            4 * b * (1 + h + max(ctx, h)) + h * h * 9 / 16 + 4 * ctx * dh * kv + attentionScoresBytes(shape: m, settings: s)
        let logits = 4 * b * (h + v) + h * v * 105 / 128
        return Int64(4 * b * h + max(attention, logits))
    }

    /// What one layer's attention materializes between the QK product and the V product. Without
    /// flash attention llama.cpp builds the f32 scores `n_kv × n_ubatch × n_head` (and softmaxes
    /// them in place); with it, `ggml_flash_attn_ext` never materializes them and only the mask is
    /// cast to an f16 copy, `n_kv × n_ubatch` (llama.cpp `src/llama-graph.cpp`, the
    /// `self_kq_mask_cnv` input and `build_attn_mha`).
    public static func attentionScoresBytes(shape m: ModelShape, settings s: InferenceSettings) -> Double {
        let b = Double(s.ubatch), ctx = Double(s.contextLength)
        return s.flashAttention ? 2 * b * ctx : 4 * b * ctx * Double(m.heads)
    }

    /// Atelier's CPU workspace, allocation by allocation (`Workspace.decoder`, `InferenceSession`,
    /// the activation-quantization scratch): exact, no estimate. Generation asks for one row of
    /// logits per pass (`atelier perplexity` asks for 32).
    public static func atelier(shape m: ModelShape, settings s: InferenceSettings, logitRows: Int = 1) -> Int64 {
        let n = Int64(s.ubatch)
        let h = Int64(m.embeddingLength), q = Int64(m.queryWidth), kv = Int64(m.kvWidth), ff = Int64(m.feedForwardLength)
        let v = Int64(m.vocabularySize), rows = Int64(logitRows)
        let activations = 4 * n * (4 * h + 2 * q + 2 * kv + 2 * ff)
        let logits = 4 * rows * (h + v) + 4 * rows * v
        // One batch quantized to 36-byte blocks of 32 for the widest matmul input.
        let quantized = n * (max(h, q, ff) / 32) * 36
        return activations + logits + quantized
    }
}

/// Process memory that is not weights, KV or compute: the runtime itself.
public enum RuntimeOverhead {
    /// CUDA context and library handles per GPU: Ollama's `cudaMinimumMemory` (457 MiB, discover/gpu.go).
    public static let cudaContextBytes: Int64 = 457 << 20
    /// The `atelier` process before it loads a model: binary, Swift runtime, SwiftNIO/Hummingbird
    /// (linked for `serve`), libc — 22.0 MiB peak RSS, measured with `/usr/bin/time -f %M atelier
    /// --help` on the release build (13.4 MiB before the server was linked in).
    public static let atelierProcessBytes: Int64 = 22 << 20
    /// Atelier's tokenizer tables: ~80 bytes per vocabulary entry (measured: `atelier tokenize`
    /// peak RSS minus the process and the GGUF metadata pages, 77 B on SmolLM2, 84 B on Gemma 3).
    public static func atelierTokenizerBytes(vocabularySize: Int) -> Int64 { Int64(vocabularySize) * 80 }
}
