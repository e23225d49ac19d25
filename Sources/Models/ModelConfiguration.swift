import GGUF

/// Hyperparameters every decoder-only transformer here needs, read from `<arch>.*` GGUF keys
/// and checked before anything is allocated from them.
public struct ModelConfiguration: Sendable, Equatable {
    public var architecture: String
    public var contextLength: Int
    public var embeddingLength: Int
    public var blockCount: Int
    public var feedForwardLength: Int
    public var headCount: Int
    public var headCountKV: Int
    public var headDim: Int
    public var valueDim: Int
    public var rmsEpsilon: Float
    public var ropeDimensions: Int
    public var ropeBase: Float
    public var ropeFrequencyScale: Float
    public var slidingWindow: Int?
    public var vocabularySize: Int

    /// llama.cpp's `LLAMA_MAX_LAYERS`: a file claiming more is hostile or broken.
    public static let maxBlocks = 512

    public init(metadata m: GGUFMetadata, source: String, vocabularySize: Int) throws {
        guard let arch = m.architecture else { throw ModelError("\(source): general.architecture is missing") }
        architecture = arch
        func required(_ key: String) throws -> Int {
            guard let value = m.integer("\(arch).\(key)") else {
                throw ModelError("\(source): required key \(arch).\(key) is missing or not an integer")
            }
            return Int(value)
        }
        func optional(_ key: String) -> Int? { m.integer("\(arch).\(key)").map { Int($0) } }
        func float(_ key: String) -> Float? { m.number("\(arch).\(key)").map { Float($0) } }

        contextLength = try required("context_length")
        embeddingLength = try required("embedding_length")
        blockCount = try required("block_count")
        feedForwardLength = try required("feed_forward_length")
        headCount = try required("attention.head_count")
        headCountKV = optional("attention.head_count_kv") ?? headCount
        headDim = optional("attention.key_length") ?? (headCount > 0 ? embeddingLength / headCount : 0)
        valueDim = optional("attention.value_length") ?? headDim
        rmsEpsilon = float("attention.layer_norm_rms_epsilon") ?? 1e-5
        ropeDimensions = optional("rope.dimension_count") ?? headDim
        ropeBase = float("rope.freq_base") ?? 10_000
        slidingWindow = optional("attention.sliding_window")
        self.vocabularySize = vocabularySize

        switch m.string("\(arch).rope.scaling.type") ?? "none" {
        case "none": ropeFrequencyScale = 1
        case "linear":
            let factor = float("rope.scaling.factor") ?? 1
            guard factor > 0 else { throw ModelError("\(source): \(arch).rope.scaling.factor is \(factor); expected > 0") }
            ropeFrequencyScale = 1 / factor
        case let other:
            throw ModelError("\(source): \(arch).rope.scaling.type \"\(other)\" is not supported (supported: none, linear)")
        }
        if let legacy = float("rope.scale_linear"), legacy > 0, ropeFrequencyScale == 1 { ropeFrequencyScale = 1 / legacy }

        try validate(source)
    }

    private func validate(_ source: String) throws {
        func check(_ ok: Bool, _ what: String) throws { if !ok { throw ModelError("\(source): \(what)") } }
        try check((1...Self.maxBlocks).contains(blockCount), "\(architecture).block_count is \(blockCount); expected 1…\(Self.maxBlocks)")
        try check((1...1 << 20).contains(embeddingLength), "\(architecture).embedding_length is \(embeddingLength); expected 1…1048576")
        try check(
            (1...1 << 22).contains(feedForwardLength), "\(architecture).feed_forward_length is \(feedForwardLength); expected 1…4194304")
        try check((1...4096).contains(headCount), "\(architecture).attention.head_count is \(headCount); expected 1…4096")
        try check(
            headCountKV >= 1 && headCount % headCountKV == 0,
            "\(architecture).attention.head_count_kv is \(headCountKV); expected a divisor of head_count \(headCount)")
        try check(
            (1...1024).contains(headDim), "head size \(headDim) (attention.key_length or embedding_length / head_count); expected 1…1024")
        try check(valueDim == headDim, "attention.value_length \(valueDim) differs from key_length \(headDim); not supported")
        try check(
            ropeDimensions > 0 && ropeDimensions <= headDim && ropeDimensions % 2 == 0,
            "\(architecture).rope.dimension_count is \(ropeDimensions); expected an even number ≤ head size \(headDim)")
        try check(ropeBase.isFinite && ropeBase > 0, "\(architecture).rope.freq_base is \(ropeBase); expected > 0")
        try check(rmsEpsilon.isFinite && rmsEpsilon > 0, "\(architecture).attention.layer_norm_rms_epsilon is \(rmsEpsilon); expected > 0")
        try check(contextLength >= 1, "\(architecture).context_length is \(contextLength); expected ≥ 1")
        try check(vocabularySize >= 1, "the vocabulary is empty")
        if let w = slidingWindow { try check(w >= 1, "\(architecture).attention.sliding_window is \(w); expected ≥ 1") }
    }

    public var kvWidth: Int { headCountKV * headDim }
    public var queryWidth: Int { headCount * headDim }
}
