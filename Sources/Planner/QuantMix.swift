import GGUF

/// A named GGUF quantization ("Q4_K_M") is a mix: llama.cpp's quantizer picks a type per tensor
/// from its role, its layer and its shape. Planning a file that does not exist yet means replaying
/// those choices; a flat bits-per-weight figure is 3–10 % off (large vocabularies, Q6_K output).
///
/// Rules follow llama.cpp `src/llama-quant.cpp` (`llama_tensor_get_type_impl` and the shape
/// fallback) at the baseline commit 0c1e57098, for the mixes listed here; the test suite checks them
/// against the sizes in llama.cpp's `tools/quantize/README.md` and against real files.
public enum QuantMix: String, CaseIterable, Codable, Sendable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case q8_0 = "Q8_0"
    case q6_K = "Q6_K"
    case q5_K_M = "Q5_K_M"
    case q4_K_M = "Q4_K_M"
    case q4_K_S = "Q4_K_S"
    case q5_0 = "Q5_0"
    case q4_1 = "Q4_1"
    case q4_0 = "Q4_0"
    case q3_K_M = "Q3_K_M"
    case q2_K = "Q2_K"

    /// Best to worst quality, the order `--best-quant` walks.
    public static let byQuality: [QuantMix] = [.f16, .q8_0, .q6_K, .q5_K_M, .q4_K_M, .q4_K_S, .q3_K_M, .q2_K]

    public init?(name: String) {
        guard let mix = QuantMix.allCases.first(where: { $0.rawValue.lowercased() == name.lowercased() }) else { return nil }
        self = mix
    }

    /// The type most tensors get.
    var baseType: GGMLType {
        switch self {
        case .f32: return .f32
        case .f16: return .f16
        case .bf16: return .bf16
        case .q8_0: return .q8_0
        case .q6_K: return .q6_K
        case .q5_K_M: return .q5_K
        case .q4_K_M, .q4_K_S: return .q4_K
        case .q5_0: return .q5_0
        case .q4_1: return .q4_1
        case .q4_0: return .q4_0
        case .q3_K_M: return .q3_K
        case .q2_K: return .q2_K
        }
    }

    /// The storage type llama.cpp gives `tensor` in a model of `shape`.
    public func type(for tensor: TensorShape, in shape: ModelShape) -> GGMLType {
        // Norms, biases and position embeddings stay F32 (1-D) or unquantized; so does an expert
        // router (the converter writes `ffn_gate_inp` as F32 and the quantizer skips it).
        switch tensor.role {
        case .norm, .bias, .ffnRouter: return .f32
        case .positionEmbedding: return self == .f32 ? .f32 : .f16
        default: break
        }
        let base = baseType
        guard base.isQuantized else { return base }
        return Self.fallback(chosen(for: tensor, in: shape), rowLength: tensor.rowLength)
    }

    private func chosen(for tensor: TensorShape, in shape: ModelShape) -> GGMLType {
        let n = shape.layers
        let i = tensor.layer ?? 0
        let gqa = shape.heads / max(1, shape.kvHeads)
        // llama.cpp's LLM_TYPE_70B: 80 layers of width 8192 (Llama 2/3 70B).
        let is70B = shape.layers == 80 && shape.embeddingLength == 8192
        let eightExperts = shape.mixtureOfExperts?.experts == 8
        func moreBits(_ i: Int, _ n: Int) -> Bool { i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2 }
        var type = baseType
        switch tensor.role {
        case .output:
            return type == .q8_0 ? .q8_0 : .q6_K
        case .tokenEmbedding:
            // Tied embeddings are quantized as the output.
            if shape.tiedEmbeddings { return type == .q8_0 ? .q8_0 : .q6_K }
            return type
        case .attentionV:
            switch self {
            case .q2_K: type = gqa >= 4 ? .q4_K : .q3_K
            case .q3_K_M: type = i < 2 ? .q5_K : .q4_K
            case .q4_K_M, .q5_K_M: if moreBits(i, n) { type = .q6_K }
            case .q4_K_S: if i < 4 { type = .q5_K }
            default: break
            }
            if is70B, type == .q3_K || type == .q4_K { type = .q5_K }
            // llama.cpp bumps attention V and K of an 8-expert model (Mixtral) to Q8_0; 128
            // experts (Qwen3 30B-A3B) keep the dense rules.
            return eightExperts ? .q8_0 : type
        case .attentionK:
            return eightExperts ? .q8_0 : type
        case .ffnDown, .ffnDownExperts:
            // llama.cpp matches `ffn_down` in the name, so the stacked experts count as one per layer.
            switch self {
            case .q2_K: return .q3_K
            case .q3_K_M: return i < n / 16 ? .q5_K : .q4_K
            case .q4_K_M: return moreBits(i, n) ? .q6_K : type
            case .q5_K_M: return moreBits(i, n) ? .q6_K : type
            case .q4_K_S: return i < n / 8 ? .q5_K : type
            default: return type
            }
        case .attentionOutput:
            switch self {
            case .q2_K: return .q3_K
            case .q3_K_M: return .q4_K
            default: return type
            }
        case .attentionQKV:
            switch self {
            case .q3_K_M: return .q4_K
            case .q4_K_M: return .q5_K
            case .q5_K_M: return .q6_K
            default: return type
            }
        default:
            return type
        }
    }

    /// A row must hold whole blocks: 256-element K-quants fall back to a 32-element type, and a
    /// row that 32 does not divide stays F16.
    static func fallback(_ type: GGMLType, rowLength: Int) -> GGMLType {
        guard rowLength % type.blockSize != 0 else { return type }
        let smaller: GGMLType
        switch type.id {
        case .q2_K, .q3_K: smaller = .q4_0
        case .q4_K: smaller = .q5_0
        case .q5_K: smaller = .q5_1
        case .q6_K: smaller = .q8_0
        default: smaller = type
        }
        return rowLength % smaller.blockSize == 0 ? smaller : .f16
    }
}

/// Storage for dense checkpoints (safetensors, PyTorch): bytes per parameter.
public enum DenseType: String, CaseIterable, Codable, Sendable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"
    case f8 = "F8"
    case i8 = "I8"
    public var bytes: Double {
        switch self {
        case .f32: return 4
        case .f16, .bf16: return 2
        case .f8, .i8: return 1
        }
    }
}
