/// GPT-2-style byte-level BPE (`tokenizer.ggml.model` = "gpt2"), matching llama.cpp's ids.
///
/// Works on raw bytes: the vocabulary's GPT-2 character spelling is undone once at load, merges
/// become (left id, right id) → (rank, merged id), and each pre-tokenized word starts as one
/// token per byte and merges lowest rank first (leftmost on ties) with a heap.
public struct ByteLevelBPETokenizer: Tokenizer {
    let vocabulary: Vocabulary
    let preTokenizer: PreTokenizer
    let specialTokens: SpecialTokenMatcher
    /// (left << 32 | right) → rank and result, first listing wins as in llama.cpp.
    let merges: [UInt64: Merge]
    /// The token for each single byte, -1 if the vocabulary lacks it.
    let byteToken: [Int32]
    /// Output bytes of every token (for control tokens: their text), flattened.
    let pieceBytes: [UInt8]
    let pieceStarts: [Int]

    public let addsBOS: Bool
    /// tokenizer.ggml.add_eos_token; `encode` never appends EOS itself (the protocol has no switch for it).
    public let addsEOS: Bool

    struct Merge: Sendable {
        let rank: Int32
        let result: Int32
    }

    public var vocabularySize: Int { vocabulary.count }
    public var bosTokenID: Int32? { vocabulary.bos }
    public var eosTokenID: Int32? { vocabulary.eos }
    public var unknownTokenID: Int32? { vocabulary.unknown }
    public var paddingTokenID: Int32? { vocabulary.padding }
    /// The value of tokenizer.ggml.pre this tokenizer splits words by ("default" when absent).
    public var preTokenizerName: String { preTokenizer.name }

    init(vocabulary: Vocabulary, mergeList: [String], preTokenizer: PreTokenizer, addsBOS: Bool, addsEOS: Bool) throws {
        self.vocabulary = vocabulary
        self.preTokenizer = preTokenizer
        self.addsBOS = addsBOS
        self.addsEOS = addsEOS
        specialTokens = SpecialTokenMatcher(vocabulary: vocabulary)

        var merges: [UInt64: Merge] = [:]
        merges.reserveCapacity(mergeList.count)
        for (rank, entry) in mergeList.enumerated() {
            // Split at the first space after the first character, as llama.cpp does, so a
            // merge whose left side is itself a space-stand-in still parses.
            let utf8 = Array(entry.utf8)
            guard utf8.count >= 3, let space = utf8[1...].firstIndex(of: 0x20) else {
                throw TokenizerError(
                    .invalidValue, key: MetadataKey.merges,
                    "entry \(rank) \"\(entry)\" is not two tokens separated by a space")
            }
            let left = String(decoding: utf8[..<space], as: UTF8.self)
            let right = String(decoding: utf8[(space + 1)...], as: UTF8.self)
            guard let l = vocabulary.textToID[left] else {
                throw TokenizerError(
                    .invalidValue, key: MetadataKey.merges,
                    "entry \(rank) \"\(entry)\" names \"\(left)\", which is not in the vocabulary")
            }
            guard let r = vocabulary.textToID[right] else {
                throw TokenizerError(
                    .invalidValue, key: MetadataKey.merges,
                    "entry \(rank) \"\(entry)\" names \"\(right)\", which is not in the vocabulary")
            }
            guard let m = vocabulary.textToID[left + right] else {
                throw TokenizerError(
                    .invalidValue, key: MetadataKey.merges,
                    "entry \(rank) \"\(entry)\" makes \"\(left + right)\", which is not in the vocabulary")
            }
            let key = UInt64(UInt32(l)) << 32 | UInt64(UInt32(r))
            if merges[key] == nil { merges[key] = Merge(rank: Int32(rank), result: m) }
        }
        self.merges = merges

        byteToken = (0..<256).map { byte in
            let text = String(Unicode.Scalar(ByteUnicodeMap.scalarForByte[byte])!)
            return vocabulary.textToID[text] ?? -1
        }

        var bytes: [UInt8] = []
        var starts: [Int] = [0]
        bytes.reserveCapacity(vocabulary.count * 6)
        starts.reserveCapacity(vocabulary.count + 1)
        for (id, text) in vocabulary.texts.enumerated() {
            switch vocabulary.types[id] {
            case .normal:
                // A character outside GPT-2's byte alphabet is passed through as its own UTF-8.
                if let raw = ByteUnicodeMap.bytes(ofEncoded: text) {
                    bytes += raw
                } else {
                    for scalar in text.unicodeScalars {
                        if let b = ByteUnicodeMap.bytes(ofEncoded: String(scalar)) {
                            bytes += b
                        } else {
                            bytes += Array(String(scalar).utf8)
                        }
                    }
                }
            case .byte:
                if let b = Self.hexByte(text) { bytes.append(b) }
            case .control, .unknown, .userDefined:
                bytes += text.utf8
            case .unused, .undefined:
                break
            }
            starts.append(bytes.count)
        }
        pieceBytes = bytes
        pieceStarts = starts
    }

    /// The byte of a "<0xAB>" byte token.
    private static func hexByte(_ text: String) -> UInt8? {
        let u = Array(text.utf8)
        guard u.count == 6, u[0] == 0x3C, u[1] == 0x30, u[2] == 0x78, u[5] == 0x3E else { return nil }
        return UInt8(String(decoding: u[3...4], as: UTF8.self), radix: 16)
    }

    // MARK: Tokenizer

    public func encode(_ text: String, addBOS: Bool, parseSpecialTokens: Bool) -> [Int32] {
        var output: [Int32] = []
        if addBOS, let bos = vocabulary.bos { output.append(bos) }
        let bytes = Array(text.utf8)
        output.reserveCapacity(output.count + bytes.count / 3)
        var cache: [ArraySlice<UInt8>: [Int32]] = [:]
        var merger = WordMerger()
        for fragment in specialTokens.partition(bytes, parseSpecial: parseSpecialTokens) {
            switch fragment {
            case .token(let id):
                output.append(id)
            case .text(let range):
                let scalars = ScalarText(bytes[range])
                let base = range.lowerBound
                var start = 0
                for end in preTokenizer.split(scalars) {
                    let word = bytes[(base + scalars.utf8Offsets[start])..<(base + scalars.utf8Offsets[end])]
                    start = end
                    if let known = cache[word] {
                        output += known
                        continue
                    }
                    let ids = tokenizeWord(word, merger: &merger)
                    cache[word] = ids
                    output += ids
                }
            }
        }
        return output
    }

    private func tokenizeWord(_ word: ArraySlice<UInt8>, merger: inout WordMerger) -> [Int32] {
        if preTokenizer.ignoreMerges, let id = vocabulary.textToID[ByteUnicodeMap.encode(word)] {
            return [id]
        }
        // llama.cpp drops a byte the vocabulary has no token for; so do we.
        let initial = word.map { byteToken[Int($0)] }
        if initial.count == 1 { return initial[0] >= 0 ? initial : [] }
        return merger.merge(initial, merges: merges).filter { $0 >= 0 }
    }

    public func decodeBytes(_ id: Int32, special: Bool) -> [UInt8] {
        guard vocabulary.isPrinted(id, special: special) else { return [] }
        return Array(pieceBytes[pieceStarts[Int(id)]..<pieceStarts[Int(id) + 1]])
    }

    public func tokenText(_ id: Int32) -> String {
        vocabulary.contains(id) ? vocabulary.texts[Int(id)] : ""
    }

    public func isEndOfGeneration(_ id: Int32) -> Bool { vocabulary.endOfGeneration.contains(id) }

    public func isControl(_ id: Int32) -> Bool { vocabulary.type(id) == .control }

    /// The token type after load-time fix-ups (ids outside the vocabulary: `.undefined`).
    public func tokenType(_ id: Int32) -> TokenType { vocabulary.type(id) }

    /// The id of a stored token text, e.g. "<|im_start|>".
    public func tokenID(forText text: String) -> Int32? { vocabulary.textToID[text] }
}

/// Merges one word's symbols; keeps its buffers between words to avoid reallocating.
struct WordMerger {
    private struct Candidate: MergeCandidate {
        let rank: Int32
        let left: Int32
        let right: Int32
        let result: Int32
        /// The two ids the pair was made from, to notice when either side has since merged.
        let leftID: Int32
        let rightID: Int32

        @inline(__always) func before(_ other: Candidate) -> Bool {
            rank != other.rank ? rank < other.rank : left < other.left
        }
    }

    private var ids: [Int32] = []
    private var prev: [Int32] = []
    private var next: [Int32] = []
    private var heap = MergeQueue<Candidate>()

    mutating func merge(_ initial: [Int32], merges: [UInt64: ByteLevelBPETokenizer.Merge]) -> [Int32] {
        let n = initial.count
        ids = initial
        prev.removeAll(keepingCapacity: true)
        next.removeAll(keepingCapacity: true)
        heap.removeAll()
        for i in 0..<n {
            prev.append(Int32(i - 1))
            next.append(i + 1 < n ? Int32(i + 1) : -1)
        }
        for i in 0..<(n - 1) { consider(Int32(i), Int32(i + 1), merges) }
        while !heap.isEmpty {
            let top = heap.pop()
            let l = Int(top.left), r = Int(top.right)
            // Stale: one side was merged away or grew since this pair was queued.
            guard ids[l] == top.leftID, ids[r] == top.rightID, next[l] == top.right else { continue }
            ids[l] = top.result
            ids[r] = -2
            next[l] = next[r]
            if next[r] >= 0 { prev[Int(next[r])] = top.left }
            if prev[l] >= 0 { consider(prev[l], top.left, merges) }
            if next[l] >= 0 { consider(top.left, next[l], merges) }
        }
        var out: [Int32] = []
        var i: Int32 = 0
        while i >= 0 {
            out.append(ids[Int(i)])
            i = next[Int(i)]
        }
        return out
    }

    private mutating func consider(_ left: Int32, _ right: Int32, _ merges: [UInt64: ByteLevelBPETokenizer.Merge]) {
        let a = ids[Int(left)], b = ids[Int(right)]
        guard a >= 0, b >= 0, let m = merges[UInt64(UInt32(a)) << 32 | UInt64(UInt32(b))] else { return }
        heap.push(Candidate(rank: m.rank, left: left, right: right, result: m.result, leftID: a, rightID: b))
    }
}
