import GGUF

/// Text ↔ token ids for one model, built from its GGUF metadata.
///
/// `ByteLevelBPETokenizer` (GPT-2 style) and `SentencePieceTokenizer` (Gemma, Llama 2) conform;
/// `TokenizerLoader` picks one from `tokenizer.ggml.model`. Both share `Vocabulary` (token texts,
/// types, special ids, end-of-generation set) and `SpecialTokenMatcher`.
public protocol Tokenizer: Sendable {
    var vocabularySize: Int { get }
    var bosTokenID: Int32? { get }
    var eosTokenID: Int32? { get }
    /// tokenizer.ggml.add_bos_token (default per model kind: false for gpt2 BPE unless the key says true)
    var addsBOS: Bool { get }
    /// `addBOS` prepends the BOS token when the model has one (callers usually pass `addsBOS`).
    /// With `parseSpecialTokens`, control/unknown token texts in `text` become their single ids;
    /// user-defined tokens are always matched, as llama.cpp does.
    func encode(_ text: String, addBOS: Bool, parseSpecialTokens: Bool) -> [Int32]
    /// The bytes this token contributes to output text (control tokens: empty unless `special` is true).
    func decodeBytes(_ id: Int32, special: Bool) -> [UInt8]
    /// The vocabulary entry as stored (byte-level BPE: "Ġworld"; the text is `decodeBytes`).
    func tokenText(_ id: Int32) -> String
    func isEndOfGeneration(_ id: Int32) -> Bool
    func isControl(_ id: Int32) -> Bool
}

extension Tokenizer {
    /// Concatenated bytes of `ids` as text; a sequence that is not valid UTF-8 shows U+FFFD.
    public func decode(_ ids: [Int32], special: Bool = false) -> String {
        var bytes: [UInt8] = []
        for id in ids { bytes += decodeBytes(id, special: special) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
