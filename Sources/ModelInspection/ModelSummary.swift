import GGUF

/// What a GGUF model is, from its header alone: identity, hyperparameters, tokenizer, and how
/// its parameters are stored. Every number comes straight from the file; nothing is guessed.
public struct ModelSummary: Codable, Sendable, Equatable {
    public var file: String
    public var fileSize: Int64
    public var ggufVersion: Int
    public var metadataCount: Int
    public var tensorCount: Int
    public var alignment: Int
    public var dataOffset: Int64

    public var name: String?
    public var architecture: String?
    /// `general.file_type` by name (e.g. "Q4_K_M").
    public var fileType: String?
    public var quantizationVersion: Int64?

    public var hyperparameters: Hyperparameters
    public var tokenizer: TokenizerSummary
    public var hasChatTemplate: Bool

    public var parameterCount: Int64
    public var tensorBytes: Int64
    /// Bits per weight over all tensors: `8 × tensorBytes / parameterCount`.
    public var bitsPerWeight: Double
    /// One row per tensor type, in the order types first appear in the file.
    public var byType: [TypeUsage]
    /// Per-tensor rows; filled only when asked for.
    public var tensors: [TensorRow]?

    public init(file: GGUFFile, includeTensors: Bool = false) {
        let metadata = file.metadata
        self.file = file.source
        fileSize = Int64(file.fileSize)
        ggufVersion = Int(file.version)
        metadataCount = metadata.count
        tensorCount = file.tensors.count
        alignment = file.alignment
        dataOffset = Int64(file.dataOffset)

        name = metadata.string("general.name")
        architecture = metadata.architecture
        fileType = metadata.integer("general.file_type").map(ggufFileTypeName)
        quantizationVersion = metadata.integer("general.quantization_version")
        hyperparameters = Hyperparameters(metadata: metadata)
        tokenizer = TokenizerSummary(metadata: metadata)
        hasChatTemplate = metadata.string("tokenizer.chat_template") != nil

        parameterCount = file.tensors.reduce(0) { $0 + $1.elementCount }
        tensorBytes = file.tensors.reduce(0) { $0 + $1.byteCount }
        bitsPerWeight = parameterCount > 0 ? 8 * Double(tensorBytes) / Double(parameterCount) : 0
        byType = TypeUsage.tally(file.tensors)
        tensors =
            includeTensors
            ? file.tensors.map { TensorRow(tensor: $0, absoluteOffset: Int64(file.dataOffset) + $0.offset) }
            : nil
    }
}

/// Architecture hyperparameters under the `<architecture>.` key prefix. Nil when absent.
public struct Hyperparameters: Codable, Sendable, Equatable {
    public var contextLength: Int64?
    public var embeddingLength: Int64?
    public var blockCount: Int64?
    public var feedForwardLength: Int64?
    public var headCount: Int64?
    /// Defaults to `headCount` when absent (no grouped-query attention).
    public var headCountKV: Int64?
    public var keyLength: Int64?
    public var valueLength: Int64?
    public var rmsNormEpsilon: Double?
    public var layerNormEpsilon: Double?
    public var ropeDimensionCount: Int64?
    public var ropeFreqBase: Double?
    public var ropeScalingType: String?
    public var ropeScalingFactor: Double?
    public var slidingWindow: Int64?
    public var expertCount: Int64?
    public var expertUsedCount: Int64?

    public init(metadata: GGUFMetadata) {
        let prefix = (metadata.architecture ?? "") + "."
        func int(_ key: String) -> Int64? { metadata.integer(prefix + key) }
        // A FLOAT32 is widened through its shortest decimal form, so 1e-5 reads as 1e-05 rather
        // than 9.999999747378752e-06 (the same float either way).
        func number(_ key: String) -> Double? {
            if case .float32(let f)? = metadata[prefix + key] { return Double("\(f)") }
            return metadata.number(prefix + key)
        }
        contextLength = int("context_length")
        embeddingLength = int("embedding_length")
        blockCount = int("block_count")
        feedForwardLength = int("feed_forward_length")
        headCount = int("attention.head_count")
        headCountKV = int("attention.head_count_kv") ?? headCount
        // Spec default: n_embd / n_head.
        let derivedHeadSize = headCount.flatMap { heads in embeddingLength.map { heads > 0 ? $0 / heads : 0 } }
        keyLength = int("attention.key_length") ?? derivedHeadSize
        valueLength = int("attention.value_length") ?? derivedHeadSize
        rmsNormEpsilon = number("attention.layer_norm_rms_epsilon")
        layerNormEpsilon = number("attention.layer_norm_epsilon")
        ropeDimensionCount = int("rope.dimension_count")
        ropeFreqBase = number("rope.freq_base")
        ropeScalingType = metadata.string(prefix + "rope.scaling.type")
        ropeScalingFactor = number("rope.scaling.factor")
        slidingWindow = int("attention.sliding_window")
        expertCount = int("expert_count")
        expertUsedCount = int("expert_used_count")
    }
}

public struct TokenizerSummary: Codable, Sendable, Equatable {
    /// `tokenizer.ggml.model`: "gpt2" (byte-level BPE), "llama" (SentencePiece), …
    public var model: String?
    /// `tokenizer.ggml.pre`: the pre-tokenizer (e.g. "smollm", "llama3").
    public var preTokenizer: String?
    /// A description of `model` for people.
    public var kind: String?
    public var vocabularySize: Int?
    public var mergeCount: Int?
    public var bosTokenID: Int64?
    public var eosTokenID: Int64?
    public var unknownTokenID: Int64?
    public var paddingTokenID: Int64?
    public var addBOS: Bool?
    public var addEOS: Bool?
    public var addSpacePrefix: Bool?

    public init(metadata: GGUFMetadata) {
        model = metadata.string("tokenizer.ggml.model")
        preTokenizer = metadata.string("tokenizer.ggml.pre")
        kind = model.map(TokenizerSummary.describe)
        vocabularySize = metadata.array("tokenizer.ggml.tokens")?.count
        mergeCount = metadata.array("tokenizer.ggml.merges")?.count
        bosTokenID = metadata.integer("tokenizer.ggml.bos_token_id")
        eosTokenID = metadata.integer("tokenizer.ggml.eos_token_id")
        unknownTokenID = metadata.integer("tokenizer.ggml.unknown_token_id")
        paddingTokenID = metadata.integer("tokenizer.ggml.padding_token_id")
        addBOS = metadata.bool("tokenizer.ggml.add_bos_token")
        addEOS = metadata.bool("tokenizer.ggml.add_eos_token")
        addSpacePrefix = metadata.bool("tokenizer.ggml.add_space_prefix")
    }

    static func describe(_ model: String) -> String {
        switch model {
        case "gpt2": "byte-level BPE (GPT-2 style)"
        case "llama": "SentencePiece (llama style)"
        case "bert": "WordPiece (BERT)"
        case "t5": "SentencePiece unigram (T5)"
        case "rwkv": "RWKV"
        default: model
        }
    }
}

public struct TypeUsage: Codable, Sendable, Equatable {
    public var type: String
    public var tensors: Int
    public var elements: Int64
    public var bytes: Int64
    public var bitsPerWeight: Double

    static func tally(_ tensors: [GGUFTensorInfo]) -> [TypeUsage] {
        var rows: [TypeUsage] = []
        var position: [String: Int] = [:]
        for tensor in tensors {
            let key = tensor.type.name
            if position[key] == nil {
                position[key] = rows.count
                rows.append(TypeUsage(type: key, tensors: 0, elements: 0, bytes: 0, bitsPerWeight: 0))
            }
            let i = position[key]!
            rows[i].tensors += 1
            rows[i].elements += tensor.elementCount
            rows[i].bytes += tensor.byteCount
            rows[i].bitsPerWeight = 8 * Double(rows[i].bytes) / Double(max(rows[i].elements, 1))
        }
        return rows
    }
}

public struct TensorRow: Codable, Sendable, Equatable {
    public var name: String
    public var type: String
    /// ggml order: the first dimension is the contiguous row length.
    public var shape: [Int64]
    public var elements: Int64
    public var bytes: Int64
    /// Absolute byte offset of the tensor's data in the file.
    public var offset: Int64

    init(tensor: GGUFTensorInfo, absoluteOffset: Int64) {
        name = tensor.name
        type = tensor.type.name
        shape = tensor.dimensions
        elements = tensor.elementCount
        bytes = tensor.byteCount
        offset = absoluteOffset
    }
}
