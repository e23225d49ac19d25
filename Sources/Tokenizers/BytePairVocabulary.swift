/// A byte-level BPE vocabulary of our own: the 256 single bytes (ids 0–255 in byte order, so a
/// byte-token model's ids are the bytes themselves) followed by the tokens `BytePairTrainer`
/// merged. The exports write it as a GPT-2-style tokenizer (`tokenizer.ggml.model` = gpt2) that
/// llama.cpp and this module tokenize identically; `makeTokenizer()` builds the tokenizer the
/// GGUF file will describe, with the same code that reads it back.
public struct BytePairVocabulary: Sendable, Equatable {
    public struct Merge: Sendable, Equatable, Hashable {
        public let left: Int32
        public let right: Int32
        /// The token the pair becomes: always a token of its own, created by this merge.
        public let result: Int32

        public init(left: Int32, right: Int32, result: Int32) {
            self.left = left
            self.right = right
            self.result = result
        }
    }

    /// Each token's raw bytes, by id.
    public let tokens: [[UInt8]]
    /// In rank order; merge i creates token 256 + i.
    public let merges: [Merge]

    /// `tokenizer.ggml.pre`: GPT-2's split pattern, the one pre-tokenizer llama.cpp and this module
    /// both implement under a name llama.cpp accepts ("gpt2" is not one of its names).
    public static let preTokenizerName = "gpt-2"

    /// BOS and EOS: the token of byte 0xFF, which never occurs in UTF-8 text. Training sees no
    /// BOS/EOS (add_bos_token is false), but llama.cpp needs explicit ids: absent ones default to
    /// token 11 for a gpt2 tokenizer, which here is the byte 0x0B. An extra special token would
    /// need an embedding row the model never trained. 0xFF is a normal token, so text never
    /// parses into it; a model that samples it ends its generation instead of emitting invalid UTF-8.
    public static let boundaryTokenID: Int32 = 0xFF

    /// The 256 single bytes, no merges: the tokenizer of a byte-level model.
    public static let bytes = BytePairVocabulary(checkedTokens: (0..<256).map { [UInt8($0)] }, merges: [])

    private init(checkedTokens: [[UInt8]], merges: [Merge]) {
        self.tokens = checkedTokens
        self.merges = merges
    }

    /// `merges[i]` must join two earlier tokens into token 256 + i, whose bytes are theirs
    /// concatenated and appear nowhere else in the vocabulary.
    public init(merges: [Merge]) throws {
        var tokens = Self.bytes.tokens
        var known = Set(tokens)
        for (rank, merge) in merges.enumerated() {
            let id = Int32(256 + rank)
            guard merge.result == id, merge.left >= 0, merge.left < id, merge.right >= 0, merge.right < id else {
                throw TokenizerError(
                    .invalidValue, key: MetadataKey.merges,
                    "merge \(rank) joins \(merge.left) and \(merge.right) into \(merge.result); expected two earlier ids into \(id)")
            }
            let joined = tokens[Int(merge.left)] + tokens[Int(merge.right)]
            guard known.insert(joined).inserted else {
                throw TokenizerError(
                    .invalidValue, key: MetadataKey.merges,
                    "merge \(rank) makes \"\(ByteUnicodeMap.encode(joined))\", which is already a token; every merge must make a new one")
            }
            tokens.append(joined)
        }
        self.init(checkedTokens: tokens, merges: merges)
    }

    public var count: Int { tokens.count }

    /// `tokenizer.ggml.tokens`: each token's bytes spelled in GPT-2's byte alphabet.
    public var tokenTexts: [String] { tokens.map { ByteUnicodeMap.encode($0) } }

    /// `tokenizer.ggml.merges`: "left right" in the same spelling (the alphabet has no space).
    public var mergeTexts: [String] {
        merges.map { ByteUnicodeMap.encode(tokens[Int($0.left)]) + " " + ByteUnicodeMap.encode(tokens[Int($0.right)]) }
    }

    /// The tokenizer a GGUF file with this vocabulary loads as: GPT-2 pre-tokenizer, merges by
    /// rank, BOS = EOS = `boundaryTokenID`, no BOS added.
    public func makeTokenizer() throws -> ByteLevelBPETokenizer {
        guard let pre = PreTokenizer(name: Self.preTokenizerName) else {
            preconditionFailure("the pre-tokenizer \(Self.preTokenizerName) is one this module implements")
        }
        let vocabulary = try Vocabulary(
            texts: tokenTexts, types: nil, bos: Self.boundaryTokenID, eos: Self.boundaryTokenID, unknown: nil, padding: nil,
            extraEndOfGeneration: [])
        return try ByteLevelBPETokenizer(vocabulary: vocabulary, mergeList: mergeTexts, preTokenizer: pre, addsBOS: false, addsEOS: false)
    }

    /// Splits `text` into pre-tokens and applies the merges to each in training order (every
    /// occurrence of merge 0 left to right, then merge 1, …): the segmentation training produced.
    /// Equal to lowest-rank-first BPE because a merge's pairs can only involve tokens made by
    /// lower ranks and every merge makes a new token.
    public func encodeByReplayingMerges(_ text: String) -> [Int32] {
        guard let pre = PreTokenizer(name: Self.preTokenizerName) else { return [] }
        let bytes = Array(text.utf8)
        let scalars = ScalarText(bytes[...])
        var output: [Int32] = []
        var start = 0
        for end in pre.split(scalars) {
            var word = bytes[scalars.utf8Offsets[start]..<scalars.utf8Offsets[end]].map { Int32($0) }
            start = end
            for merge in merges where word.count > 1 {
                var merged: [Int32] = []
                merged.reserveCapacity(word.count)
                var i = 0
                while i < word.count {
                    if i + 1 < word.count && word[i] == merge.left && word[i + 1] == merge.right {
                        merged.append(merge.result)
                        i += 2
                    } else {
                        merged.append(word[i])
                        i += 1
                    }
                }
                word = merged
            }
            output += word
        }
        return output
    }
}
