import GGUF

/// Every weight of a model with its exact byte size: read from a GGUF file, from safetensors
/// headers, or replayed from a shape and a quantization mix. Memory is summed per tensor because
/// named mixes are not single types.
public struct WeightInventory: Sendable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var layer: Int?
        public var role: TensorRole
        public var elements: Int64
        public var bytes: Int64
        public var typeName: String
    }

    public var entries: [Entry]
    /// Bytes on disk besides the weights (GGUF metadata and tokenizer, safetensors headers).
    public var overheadBytes: Int64
    /// Where the sizes come from, shown to the user.
    public var basis: String
    /// The share of each expert stack a token reads (mixture of experts; 1 for a dense model).
    public var activeExpertFraction: Double

    public init(entries: [Entry], overheadBytes: Int64 = 0, basis: String, activeExpertFraction: Double = 1) {
        self.entries = entries
        self.overheadBytes = overheadBytes
        self.basis = basis
        self.activeExpertFraction = activeExpertFraction
    }

    /// Exact: the tensor table of a GGUF file.
    public init(file: GGUFFile) {
        entries = file.tensors.map { t in
            let (role, layer) = TensorRole.of(ggufName: t.name)
            return Entry(name: t.name, layer: layer, role: role, elements: t.elementCount, bytes: t.byteCount, typeName: t.type.name)
        }
        overheadBytes = Int64(file.dataOffset)
        basis = "tensor table of \(file.source)"
        activeExpertFraction = (try? ModelShape(file: file))?.activeExpertFraction ?? 1
    }

    /// Replays llama.cpp's quantizer on `shape`.
    public init(shape: ModelShape, mix: QuantMix) {
        entries = shape.tensors().map { t in
            let type = mix.type(for: t, in: shape)
            return Entry(
                name: t.name, layer: t.layer, role: t.role, elements: t.elements,
                bytes: type.byteCount(elements: t.elements) ?? t.elements * 2, typeName: type.name)
        }
        // GGUF metadata is mostly the tokenizer: ~30 bytes per vocabulary entry (text, score,
        // type, merges), measured on the SmolLM2 (1.70 MiB / 49152) and Gemma 3 (6.22 MiB / 262144) files.
        overheadBytes = Int64(shape.vocabularySize) * 30
        basis = "\(shape.name) hyperparameters with llama.cpp's \(mix.rawValue) mix"
        activeExpertFraction = shape.activeExpertFraction
    }

    /// A dense checkpoint: every parameter at `dtype`.
    public init(shape: ModelShape, dtype: DenseType) {
        entries = shape.tensors().map { t in
            Entry(
                name: t.name, layer: t.layer, role: t.role, elements: t.elements,
                bytes: Int64(Double(t.elements) * dtype.bytes), typeName: dtype.rawValue)
        }
        overheadBytes = 0
        basis = "\(shape.name) hyperparameters at \(dtype.rawValue)"
        activeExpertFraction = shape.activeExpertFraction
    }

    public var totalBytes: Int64 { entries.reduce(0) { $0 + $1.bytes } }
    public var parameterCount: Int64 { entries.reduce(0) { $0 + $1.elements } }
    public var bitsPerWeight: Double { 8 * Double(totalBytes) / Double(max(1, parameterCount)) }
    public var fileBytes: Int64 { totalBytes + overheadBytes }

    /// Bytes of layer `i`'s weights.
    public func layerBytes(_ i: Int) -> Int64 { entries.lazy.filter { $0.layer == i }.reduce(0) { $0 + $1.bytes } }
    /// The output head as llama.cpp offloads it: `output.weight` (or, when tied, nothing extra —
    /// the token table stays on the host and a copy is not made) plus the final norm.
    public var outputBytes: Int64 {
        entries.lazy.filter { $0.role == .output || $0.name.hasPrefix("output_norm") }.reduce(0) { $0 + $1.bytes }
    }
    public var tokenEmbeddingBytes: Int64 { entries.lazy.filter { $0.role == .tokenEmbedding }.reduce(0) { $0 + $1.bytes } }
    public var hasSeparateOutput: Bool { entries.contains { $0.role == .output } }

    /// Bytes and parameters of the expert stacks a token does not use (0 for a dense model).
    private var idleExpertBytes: Int64 { idle(\.bytes) }
    private var idleExpertParameters: Int64 { idle(\.elements) }
    private func idle(_ measure: KeyPath<Entry, Int64>) -> Int64 {
        let unused = 1 - activeExpertFraction
        return entries.lazy.filter { $0.role.isExpertStack }.reduce(0) { $0 + Int64((Double($1[keyPath: measure]) * unused).rounded()) }
    }

    /// Bytes of layer `i`'s weights one token reads: all of them, less the inactive experts.
    public func layerBytesRead(_ i: Int) -> Int64 {
        let unused = 1 - activeExpertFraction
        return entries.lazy.filter { $0.layer == i }.reduce(0) {
            $0 + ($1.role.isExpertStack ? $1.bytes - Int64((Double($1.bytes) * unused).rounded()) : $1.bytes)
        }
    }

    /// Bytes one decoded token reads: every weight except the token table — unless the output
    /// is tied to it, in which case the whole table is read by the logits matmul — and, in a
    /// mixture of experts, only the active experts.
    public var bytesReadPerToken: Int64 {
        (hasSeparateOutput ? totalBytes - tokenEmbeddingBytes : totalBytes) - idleExpertBytes
    }

    /// Parameters multiplied per prompt token in prefill: the output head runs only for the last
    /// token, so neither table counts; a mixture of experts multiplies only the active experts.
    public var prefillParameters: Int64 {
        parameterCount - idleExpertParameters
            - entries.lazy.filter { $0.role == .tokenEmbedding || $0.role == .positionEmbedding || $0.role == .output }.reduce(0) {
                $0 + $1.elements
            }
    }

    /// Parameters that take part in a matrix multiply per token (2 FLOPs each): all but the token
    /// and position tables and the inactive experts, plus the tied output.
    public var matmulParameters: Int64 {
        let tables = entries.lazy.filter { $0.role == .tokenEmbedding || $0.role == .positionEmbedding }.reduce(0) { $0 + $1.elements }
        let tied = hasSeparateOutput ? 0 : entries.lazy.filter { $0.role == .tokenEmbedding }.reduce(0) { $0 + $1.elements }
        return parameterCount - tables + tied - idleExpertParameters
    }
}
