/// SentencePiece-style tokenizer (`tokenizer.ggml.model` = "llama"), matching llama.cpp's SPM
/// tokenizer ids: spaces become "▁", each plain-text fragment starts as one symbol per UTF-8
/// character, adjacent symbols whose concatenation is a vocabulary entry merge highest score
/// first (leftmost on ties), and symbols left that are not entries fall back to `<0xXX>` byte
/// tokens.
///
/// Token texts are matched as bytes (never as `String`s, whose equality is canonical equivalence:
/// "é" and "e\u{301}" are different tokens).
public struct SentencePieceTokenizer: Tokenizer {
    let vocabulary: Vocabulary
    let scores: [Float]
    let specialTokens: SpecialTokenMatcher
    /// Stored token texts as bytes → id.
    let table: ByteStringTable
    /// The token for each single byte (`<0xXX>`, else the byte itself as a token), -1 if none.
    let byteToken: [Int32]
    /// Output bytes of every token (for control tokens: their text), flattened.
    let pieceBytes: [UInt8]
    let pieceStarts: [Int32]

    public let addsBOS: Bool
    /// tokenizer.ggml.add_eos_token; `encode` never appends EOS itself (the protocol has no switch for it).
    public let addsEOS: Bool
    /// tokenizer.ggml.add_space_prefix: a "▁" goes before the text at the start and after each special token.
    public let addsSpacePrefix: Bool

    public var vocabularySize: Int { vocabulary.count }
    public var bosTokenID: Int32? { vocabulary.bos }
    public var eosTokenID: Int32? { vocabulary.eos }
    public var unknownTokenID: Int32? { vocabulary.unknown }
    public var paddingTokenID: Int32? { vocabulary.padding }

    init(vocabulary: Vocabulary, scores: [Float], addsBOS: Bool, addsEOS: Bool, addsSpacePrefix: Bool) throws {
        guard scores.count == vocabulary.count else {
            throw TokenizerError(
                .invalidValue, key: MetadataKey.scores,
                "has \(scores.count) entries but \(MetadataKey.tokens) has \(vocabulary.count)")
        }
        self.vocabulary = vocabulary
        self.scores = scores
        self.addsBOS = addsBOS
        self.addsEOS = addsEOS
        self.addsSpacePrefix = addsSpacePrefix
        specialTokens = SpecialTokenMatcher(vocabulary: vocabulary)

        // One pass over the texts: raw bytes for the lookup table, output bytes for decoding.
        var raw: [UInt8] = []
        var rawStarts: [Int32] = [0]
        var out: [UInt8] = []
        var outStarts: [Int32] = [0]
        raw.reserveCapacity(vocabulary.count * 8)
        rawStarts.reserveCapacity(vocabulary.count + 1)
        out.reserveCapacity(vocabulary.count * 8)
        outStarts.reserveCapacity(vocabulary.count + 1)
        for (id, text) in vocabulary.texts.enumerated() {
            let start = raw.count
            var text = text
            text.withUTF8 { raw.append(contentsOf: $0) }
            let end = raw.count
            switch vocabulary.types[id] {
            case .normal:
                // "▁" (E2 96 81) is a space.
                var i = start
                while i < end {
                    if raw[i] == 0xE2 && i + 2 < end && raw[i + 1] == 0x96 && raw[i + 2] == 0x81 {
                        out.append(0x20)
                        i += 3
                    } else {
                        out.append(raw[i])
                        i += 1
                    }
                }
            case .byte:
                if let b = Self.hexByte(raw[start..<end]) { out.append(b) }
            case .control, .unknown, .userDefined:
                out.append(contentsOf: raw[start..<end])
            case .unused, .undefined:
                // llama.cpp outputs nothing for these.
                break
            }
            rawStarts.append(Int32(truncatingIfNeeded: raw.count))
            outStarts.append(Int32(truncatingIfNeeded: out.count))
        }
        guard raw.count <= Int(Int32.max), out.count <= Int(Int32.max) else {
            throw TokenizerError(.invalidValue, key: MetadataKey.tokens, "token texts are too large")
        }
        let table = ByteStringTable(bytes: raw, starts: rawStarts)
        self.table = table
        pieceBytes = out
        pieceStarts = outStarts

        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        byteToken = (0..<256).map { b in
            let name: [UInt8] = [0x3C, 0x30, 0x78, hex[b >> 4], hex[b & 15], 0x3E]  // "<0xAB>"
            let id = name.withUnsafeBufferPointer { table.lookup($0, 0, 6) }
            if id >= 0 { return id }
            let single = [UInt8(b)]
            return single.withUnsafeBufferPointer { table.lookup($0, 0, 1) }
        }
    }

    /// The byte of a "<0xAB>" byte token.
    private static func hexByte(_ u: ArraySlice<UInt8>) -> UInt8? {
        guard u.count == 6 else { return nil }
        let s = u.startIndex
        guard u[s] == 0x3C, u[s + 1] == 0x30, u[s + 2] == 0x78, u[s + 5] == 0x3E else { return nil }
        func digit(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: c - 0x30
            case 0x41...0x46: c - 0x41 + 10
            case 0x61...0x66: c - 0x61 + 10
            default: nil
            }
        }
        guard let hi = digit(u[s + 3]), let lo = digit(u[s + 4]) else { return nil }
        return hi << 4 | lo
    }

    // MARK: Tokenizer

    public func encode(_ text: String, addBOS: Bool, parseSpecialTokens: Bool) -> [Int32] {
        var output: [Int32] = []
        if addBOS, let bos = vocabulary.bos { output.append(bos) }
        var text = text
        let bytes = text.withUTF8 { Array($0) }
        output.reserveCapacity(output.count + bytes.count / 3)
        var session = SentencePieceSession()
        var previousWasSpecial = true
        var escaped: [UInt8] = []
        for fragment in specialTokens.partition(bytes, parseSpecial: parseSpecialTokens) {
            switch fragment {
            case .token(let id):
                output.append(id)
                previousWasSpecial = true
            case .text(let range):
                escaped.removeAll(keepingCapacity: true)
                escaped.reserveCapacity(range.count + 3)
                if addsSpacePrefix && previousWasSpecial { escaped += [0xE2, 0x96, 0x81] }
                for b in bytes[range] {
                    if b == 0x20 { escaped += [0xE2, 0x96, 0x81] } else { escaped.append(b) }
                }
                session.tokenize(escaped, tokenizer: self, into: &output)
                previousWasSpecial = false
            }
        }
        return output
    }

    public func decodeBytes(_ id: Int32, special: Bool) -> [UInt8] {
        guard vocabulary.isPrinted(id, special: special) else { return [] }
        return Array(pieceBytes[Int(pieceStarts[Int(id)])..<Int(pieceStarts[Int(id) + 1])])
    }

    public func tokenText(_ id: Int32) -> String {
        vocabulary.contains(id) ? vocabulary.texts[Int(id)] : ""
    }

    public func isEndOfGeneration(_ id: Int32) -> Bool { vocabulary.endOfGeneration.contains(id) }

    public func isControl(_ id: Int32) -> Bool { vocabulary.type(id) == .control }

    /// The token type after load-time fix-ups (ids outside the vocabulary: `.undefined`).
    public func tokenType(_ id: Int32) -> TokenType { vocabulary.type(id) }

    /// The score of a token (0 outside the vocabulary).
    public func score(_ id: Int32) -> Float { vocabulary.contains(id) ? scores[Int(id)] : 0 }

    /// The id of a stored token text, e.g. "<start_of_turn>" (matched byte for byte).
    public func tokenID(forText text: String) -> Int32? {
        let bytes = Array(text.utf8)
        let id = bytes.withUnsafeBufferPointer { table.lookup($0, 0, bytes.count) }
        return id >= 0 ? id : nil
    }
}

/// One fragment's merging, as llama.cpp's llm_tokenizer_spm_session; keeps its buffers between
/// fragments.
struct SentencePieceSession {
    private struct Symbol {
        var start: Int32
        var length: Int32
        var prev: Int32
        var next: Int32
    }

    private struct Bigram: MergeCandidate {
        let score: Float
        let left: Int32
        let right: Int32
        let size: Int32

        /// Higher score first, then the leftmost.
        @inline(__always) func before(_ other: Bigram) -> Bool {
            score > other.score || (score == other.score && left < other.left)
        }
    }

    private var symbols: [Symbol] = []
    private var heap = MergeQueue<Bigram>()

    mutating func tokenize(_ text: [UInt8], tokenizer: SentencePieceTokenizer, into output: inout [Int32]) {
        guard !text.isEmpty else { return }
        symbols.removeAll(keepingCapacity: true)
        heap.removeAll()
        let n = text.count
        var offset = 0
        while offset < n {
            let lead = text[offset]
            let length = lead < 0x80 ? 1 : lead < 0xC0 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
            let taken = min(length, n - offset)
            let index = Int32(symbols.count)
            offset += taken
            symbols.append(
                Symbol(
                    start: Int32(offset - taken), length: Int32(taken),
                    prev: index - 1, next: offset == n ? -1 : index + 1))
        }
        let table = tokenizer.table
        let scores = tokenizer.scores
        text.withUnsafeBufferPointer { buffer in
            for i in 1..<symbols.count { addBigram(Int32(i - 1), Int32(i), buffer, table, scores) }
            while !heap.isEmpty {
                let bigram = heap.pop()
                let l = Int(bigram.left), r = Int(bigram.right)
                // Stale: one side already merged away or grew.
                if symbols[l].length == 0 || symbols[r].length == 0
                    || symbols[l].length + symbols[r].length != bigram.size
                {
                    continue
                }
                symbols[l].length += symbols[r].length
                symbols[r].length = 0
                symbols[l].next = symbols[r].next
                if symbols[r].next >= 0 { symbols[Int(symbols[r].next)].prev = bigram.left }
                addBigram(symbols[l].prev, bigram.left, buffer, table, scores)
                addBigram(bigram.left, symbols[l].next, buffer, table, scores)
            }
            var i: Int32 = 0
            while i != -1 {
                let s = symbols[Int(i)]
                let id = table.lookup(buffer, Int(s.start), Int(s.length))
                if id >= 0 {
                    output.append(id)
                } else {
                    // Not an entry (only unmerged characters get here): one token per byte.
                    for j in Int(s.start)..<Int(s.start + s.length) {
                        let byteID = tokenizer.byteToken[Int(buffer[j])]
                        if byteID >= 0 {
                            output.append(byteID)
                        } else if let unknown = tokenizer.vocabulary.unknown {
                            output.append(unknown)
                        }
                    }
                }
                i = s.next
            }
        }
    }

    private mutating func addBigram(
        _ left: Int32, _ right: Int32, _ buffer: UnsafeBufferPointer<UInt8>,
        _ table: ByteStringTable, _ scores: [Float]
    ) {
        guard left >= 0, right >= 0 else { return }
        let l = symbols[Int(left)], r = symbols[Int(right)]
        let size = l.length + r.length
        let id = table.lookup(buffer, Int(l.start), Int(size))
        guard id >= 0 else { return }
        heap.push(Bigram(score: scores[Int(id)], left: left, right: right, size: size))
    }
}

/// Byte strings (the vocabulary's texts, flattened) → index, by open addressing.
struct ByteStringTable: Sendable {
    private let bytes: [UInt8]
    private let starts: [Int32]
    /// Index + 1 of the entry in each slot, 0 when empty.
    private let slots: [Int32]
    private let mask: Int

    /// Entry `i` is `bytes[starts[i]..<starts[i + 1]]`; a later duplicate replaces an earlier one.
    init(bytes: [UInt8], starts: [Int32]) {
        let count = starts.count - 1
        var capacity = 16
        while capacity < count * 2 { capacity <<= 1 }
        var slots = [Int32](repeating: 0, count: capacity)
        let mask = capacity - 1
        bytes.withUnsafeBufferPointer { b in
            for i in 0..<count {
                let s = Int(starts[i]), e = Int(starts[i + 1])
                var slot = Int(truncatingIfNeeded: Self.hash(b, s, e - s)) & mask
                while slots[slot] != 0 {
                    let j = Int(slots[slot]) - 1
                    if Self.equal(b, Int(starts[j]), Int(starts[j + 1]), b, s, e - s) { break }
                    slot = (slot + 1) & mask
                }
                slots[slot] = Int32(i + 1)
            }
        }
        self.bytes = bytes
        self.starts = starts
        self.slots = slots
        self.mask = mask
    }

    @inline(__always)
    private static func hash(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in start..<(start + count) { h = (h ^ UInt64(p[i])) &* 0x0000_0100_0000_01b3 }
        h ^= h >> 29
        h = h &* 0xbf58_476d_1ce4_e5b9
        return h ^ (h >> 32)
    }

    @inline(__always)
    private static func equal(
        _ a: UnsafeBufferPointer<UInt8>, _ aStart: Int, _ aEnd: Int,
        _ b: UnsafeBufferPointer<UInt8>, _ bStart: Int, _ count: Int
    ) -> Bool {
        guard aEnd - aStart == count else { return false }
        for k in 0..<count where a[aStart + k] != b[bStart + k] { return false }
        return true
    }

    /// The index of `p[start..<start + count]`, or -1.
    func lookup(_ p: UnsafeBufferPointer<UInt8>, _ start: Int, _ count: Int) -> Int32 {
        var slot = Int(truncatingIfNeeded: Self.hash(p, start, count)) & mask
        return bytes.withUnsafeBufferPointer { b in
            while true {
                let entry = slots[slot]
                if entry == 0 { return -1 }
                let j = Int(entry) - 1
                if Self.equal(b, Int(starts[j]), Int(starts[j + 1]), p, start, count) { return Int32(j) }
                slot = (slot + 1) & mask
            }
        }
    }
}

extension MetadataKey {
    static let scores = "tokenizer.ggml.scores"
    static let addSpacePrefix = "tokenizer.ggml.add_space_prefix"
}

extension MetadataReader {
    func requiredFloats(_ key: String) throws -> [Float] {
        guard let value = metadata[key] else { throw TokenizerError.missing(key) }
        switch value.arrayValue {
        case .float32(let a)?: return a
        case .float64(let a)?: return a.map { Float($0) }
        default:
            let got: String
            if case .array(let a) = value { got = "ARRAY of \(a.elementType)" } else { got = value.type.description }
            throw TokenizerError.wrongType(key, expected: "ARRAY of FLOAT32", got: got)
        }
    }
}

extension TokenizerLoader {
    /// llama.cpp's SPM defaults: BOS 1, EOS 2, unknown 0 when the keys are absent; BOS added and
    /// a space prefix unless the metadata says otherwise.
    static func loadSentencePiece(_ reader: MetadataReader) throws -> SentencePieceTokenizer {
        let vocabulary = try reader.vocabulary(defaultBOS: 1, defaultEOS: 2, defaultUnknown: 0)
        let scores = try reader.requiredFloats(MetadataKey.scores)
        let addsBOS = try reader.optionalBool(MetadataKey.addBOS) ?? true
        let addsEOS = try reader.optionalBool(MetadataKey.addEOS) ?? false
        let addsSpacePrefix = try reader.optionalBool(MetadataKey.addSpacePrefix) ?? true
        if addsBOS && vocabulary.bos == nil {
            throw TokenizerError(.missingKey, key: MetadataKey.bos, "missing, but \(MetadataKey.addBOS) is true")
        }
        if addsEOS && vocabulary.eos == nil {
            throw TokenizerError(.missingKey, key: MetadataKey.eos, "missing, but \(MetadataKey.addEOS) is true")
        }
        return try SentencePieceTokenizer(
            vocabulary: vocabulary, scores: scores, addsBOS: addsBOS,
            addsEOS: addsEOS, addsSpacePrefix: addsSpacePrefix)
    }
}
