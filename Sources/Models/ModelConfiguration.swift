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
    public static let maxBlocks = HyperparameterLimits.blockCount.upperBound

    public init(metadata m: GGUFMetadata, source: String, vocabularySize: Int) throws {
        guard let arch = m.architecture else { throw ModelError("\(source): general.architecture is missing") }
        architecture = arch
        let keys = HyperparameterReader(metadata: m, architecture: arch, source: source)
        typealias Limits = HyperparameterLimits

        contextLength = try keys.requiredInteger("context_length", in: Limits.contextLength)
        embeddingLength = try keys.requiredInteger("embedding_length", in: Limits.embeddingLength)
        blockCount = try keys.requiredInteger("block_count", in: Limits.blockCount)
        feedForwardLength = try keys.requiredInteger("feed_forward_length", in: Limits.feedForwardLength)
        headCount = try keys.requiredInteger("attention.head_count", in: Limits.headCount)
        headCountKV = try keys.integer("attention.head_count_kv", in: 1...headCount) ?? headCount
        guard headCount % headCountKV == 0 else {
            throw keys.fail("\(arch).attention.head_count_kv is \(headCountKV); expected a divisor of attention.head_count \(headCount)")
        }
        if let keyLength = try keys.integer("attention.key_length", in: Limits.headDim) {
            headDim = keyLength
        } else {
            guard embeddingLength % headCount == 0, Limits.headDim.contains(embeddingLength / headCount) else {
                throw keys.fail(
                    "\(arch).embedding_length \(embeddingLength) / attention.head_count \(headCount) is not a whole head size in "
                        + "\(Limits.headDim.lowerBound)…\(Limits.headDim.upperBound), and attention.key_length is absent")
            }
            headDim = embeddingLength / headCount
        }
        valueDim = try keys.integer("attention.value_length", in: headDim...headDim) ?? headDim
        rmsEpsilon = try keys.float("attention.layer_norm_rms_epsilon", in: Limits.rmsEpsilon) ?? 1e-5
        ropeDimensions = try keys.integer("rope.dimension_count", in: 2...headDim) ?? headDim
        guard ropeDimensions % 2 == 0 else {
            throw keys.fail("\(arch).rope.dimension_count is \(ropeDimensions); expected an even number in 2…\(headDim) (the head size)")
        }
        ropeBase = try keys.float("rope.freq_base", in: Limits.ropeBase) ?? 10_000
        // A window at least as long as the longest context we run changes nothing; clamping keeps
        // window + batch arithmetic (ring capacities) far from overflow.
        slidingWindow = try keys.integer("attention.sliding_window", in: 1...Int.max).map { min($0, Limits.contextLength.upperBound) }
        guard vocabularySize >= 1 else { throw keys.fail("the vocabulary is empty") }
        self.vocabularySize = vocabularySize

        switch try keys.string("rope.scaling.type") ?? "none" {
        case "none": ropeFrequencyScale = 1
        case "linear": ropeFrequencyScale = 1 / (try keys.float("rope.scaling.factor", in: Limits.ropeScaling) ?? 1)
        case let other:
            throw keys.fail("\(arch).rope.scaling.type \"\(other)\" is not supported (supported: none, linear)")
        }
        if let legacy = try keys.float("rope.scale_linear", in: Limits.ropeScaling), ropeFrequencyScale == 1 {
            ropeFrequencyScale = 1 / legacy
        }
    }

    public var kvWidth: Int { headCountKV * headDim }
    public var queryWidth: Int { headCount * headDim }
}
