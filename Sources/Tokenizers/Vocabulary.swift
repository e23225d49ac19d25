/// `tokenizer.ggml.token_type` values (llama.cpp's llama_token_type).
public enum TokenType: Int32, Sendable {
    case undefined = 0
    case normal = 1
    case unknown = 2
    case control = 3
    case userDefined = 4
    case unused = 5
    case byte = 6
}

/// What every tokenizer kind shares: the stored token texts and types, the special ids and the
/// end-of-generation set. Kind-specific data (merges, scores) lives in the tokenizer itself.
struct Vocabulary: Sendable {
    let texts: [String]
    /// Token types after llama.cpp's fix-ups (end-of-generation look-alikes become control).
    let types: [TokenType]
    let textToID: [String: Int32]
    let bos: Int32?
    let eos: Int32?
    let unknown: Int32?
    let padding: Int32?
    let endOfGeneration: Set<Int32>

    var count: Int { texts.count }

    func contains(_ id: Int32) -> Bool { id >= 0 && Int(id) < texts.count }

    /// Whether `id` contributes text when decoding: control and unknown tokens only with `special`.
    func isPrinted(_ id: Int32, special: Bool) -> Bool {
        guard contains(id) else { return false }
        switch types[Int(id)] {
        case .control, .unknown: return special
        default: return true
        }
    }

    func type(_ id: Int32) -> TokenType { contains(id) ? types[Int(id)] : .undefined }

    /// Texts that end a turn in some chat format. llama.cpp finds these by text (the converters do
    /// not mark them) and treats each one present as end-of-generation, forcing it to control.
    static let endOfGenerationTexts: Set<String> = [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
        "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
        "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
        "<｜end▁of▁sentence｜>", "[e~[",
        // Fill-in-the-middle pad/repo/file-separator tokens also stop generation in llama.cpp.
        "<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]",
        "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>",
        "<|file_sep|>",
    ]

    /// Validates and assembles the parts read from metadata (`TokenizerLoader` does the reading).
    init(
        texts rawTexts: [String], types rawTypes: [Int64]?, bos: Int32?, eos: Int32?, unknown: Int32?,
        padding: Int32?, extraEndOfGeneration: [Int32]
    ) throws {
        var texts = rawTexts
        var textToID: [String: Int32] = [:]
        textToID.reserveCapacity(texts.count)
        for i in texts.indices {
            // llama.cpp renames empty entries rather than failing, so a model it loads loads here too.
            if texts[i].isEmpty { texts[i] = "[EMPTY_\(i)]" }
            if let earlier = textToID.updateValue(Int32(i), forKey: texts[i]) {
                // String keys compare by canonical equivalence; only identical bytes are a duplicate.
                // (Gemma has both precomposed and decomposed spellings of some syllables, as distinct
                // tokens; this map keeps the first, SentencePieceTokenizer matches bytes itself.)
                if texts[Int(earlier)].utf8.elementsEqual(texts[i].utf8) {
                    throw TokenizerError(
                        .invalidValue, key: MetadataKey.tokens,
                        "duplicate token \"\(texts[i])\" at ids \(earlier) and \(i)")
                }
                textToID[texts[i]] = earlier
            }
        }
        var types = [TokenType](repeating: .normal, count: texts.count)
        if let rawTypes {
            guard rawTypes.count == texts.count else {
                throw TokenizerError(
                    .invalidValue, key: MetadataKey.tokenType,
                    "has \(rawTypes.count) entries but \(MetadataKey.tokens) has \(texts.count)")
            }
            for (i, raw) in rawTypes.enumerated() {
                types[i] = Int32(exactly: raw).flatMap(TokenType.init(rawValue:)) ?? .undefined
            }
        }
        var eog = Set<Int32>()
        for (text, id) in textToID where Vocabulary.endOfGenerationTexts.contains(text) {
            eog.insert(id)
            if types[Int(id)] != .control { types[Int(id)] = .control }
        }
        for id in [eos].compactMap({ $0 }) + extraEndOfGeneration { eog.insert(id) }

        self.texts = texts
        self.types = types
        self.textToID = textToID
        self.bos = bos
        self.eos = eos
        self.unknown = unknown
        self.padding = padding
        self.endOfGeneration = eog
    }
}

/// The metadata keys tokenizers read.
enum MetadataKey {
    static let model = "tokenizer.ggml.model"
    static let pre = "tokenizer.ggml.pre"
    static let tokens = "tokenizer.ggml.tokens"
    static let tokenType = "tokenizer.ggml.token_type"
    static let merges = "tokenizer.ggml.merges"
    static let bos = "tokenizer.ggml.bos_token_id"
    static let eos = "tokenizer.ggml.eos_token_id"
    static let unknown = "tokenizer.ggml.unknown_token_id"
    static let padding = "tokenizer.ggml.padding_token_id"
    static let eot = "tokenizer.ggml.eot_token_id"
    static let eom = "tokenizer.ggml.eom_token_id"
    static let addBOS = "tokenizer.ggml.add_bos_token"
    static let addEOS = "tokenizer.ggml.add_eos_token"
}
