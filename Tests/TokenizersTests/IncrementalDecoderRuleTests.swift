import Testing
import Tokenizers

/// A tokenizer whose tokens are whatever bytes a test needs: token i is `pieces[i]`; the last
/// token is a control token with the text "<eot>".
struct BytePieceTokenizer: Tokenizer {
    let pieces: [[UInt8]]
    var vocabularySize: Int { pieces.count + 1 }
    var bosTokenID: Int32? { nil }
    var eosTokenID: Int32? { Int32(pieces.count) }
    var addsBOS: Bool { false }
    func encode(_ text: String, addBOS: Bool, parseSpecialTokens: Bool) -> [Int32] { [] }
    func decodeBytes(_ id: Int32, special: Bool) -> [UInt8] {
        Int(id) < pieces.count ? pieces[Int(id)] : special ? Array("<eot>".utf8) : []
    }
    func tokenText(_ id: Int32) -> String { String(decoding: decodeBytes(id, special: true), as: UTF8.self) }
    func isEndOfGeneration(_ id: Int32) -> Bool { Int(id) == pieces.count }
    func isControl(_ id: Int32) -> Bool { Int(id) == pieces.count }
}

/// The rule of `IncrementalDecoder`: a piece never holds part of a character; only a valid start
/// of a character waits for more bytes; bytes that can never complete go out at once as U+FFFD;
/// the end of the stream releases what waits, as U+FFFD.
@Suite struct IncrementalDecoderRuleTests {
    /// The pieces the decoder gives for tokens carrying these byte groups, then its flush.
    func decode(_ groups: [[UInt8]], special: Bool = false) -> (pieces: [String], flushed: String) {
        var decoder = IncrementalDecoder(tokenizer: BytePieceTokenizer(pieces: groups), special: special)
        let pieces = groups.indices.map { decoder.push(Int32($0)) }
        return (pieces, decoder.flush())
    }

    @Test func twoByteCharacterSplitAcrossTokens() {
        let e = Array("é".utf8)  // C3 A9
        #expect(decode([Array("caf".utf8) + [e[0]], [e[1]] + Array("!".utf8)]).pieces == ["caf", "é!"])
    }

    /// 🦙 is F0 9F A6 99: nothing of it comes out until its last byte.
    @Test func fourByteEmojiOverThreeTokens() {
        let llama = Array("🦙".utf8)
        let result = decode([[llama[0], llama[1]], [llama[2]], [llama[3]] + Array(" ok".utf8)])
        #expect(result.pieces == ["", "", "🦙 ok"])
        #expect(result.flushed == "")
    }

    @Test func threeByteCharactersBackToBack() {
        let text = Array("日本語".utf8)  // 9 bytes, cut 2 + 5 + 2
        #expect(decode([Array(text[0..<2]), Array(text[2..<7]), Array(text[7...])]).pieces == ["", "日本", "語"])
    }

    /// Bytes no well-formed sequence can start with, or starts that the next byte rules out, do
    /// not wait: a stray continuation byte, C0/C1 (overlong two-byte forms), F5 and up (past
    /// U+10FFFF), E0 80 (overlong), ED A0 (a surrogate), F4 90 (past U+10FFFF).
    @Test(
        arguments: [
            ([0x80], "\u{FFFD}"), ([0xC0], "\u{FFFD}"), ([0xC1], "\u{FFFD}"), ([0xF5], "\u{FFFD}"), ([0xFF], "\u{FFFD}"),
            ([0xE0, 0x80], "\u{FFFD}\u{FFFD}"), ([0xED, 0xA0], "\u{FFFD}\u{FFFD}"), ([0xF4, 0x90], "\u{FFFD}\u{FFFD}"),
            ([0xF0, 0x8F], "\u{FFFD}\u{FFFD}"),
        ] as [([UInt8], String)])
    func invalidBytesGoOutAtOnce(bytes: [UInt8], expected: String) {
        let result = decode([Array("a".utf8) + bytes])
        #expect(result.pieces == ["a" + expected])
        #expect(result.flushed == "")
    }

    /// The valid starts next to the invalid ones above are held: E0 A0, ED 9F, F4 8F, F0 90.
    @Test(arguments: [[0xE0, 0xA0], [0xED, 0x9F], [0xF4, 0x8F], [0xF0, 0x90], [0xF0, 0x90, 0x80], [0xC2], [0xE1]] as [[UInt8]])
    func validStartsWait(bytes: [UInt8]) {
        let result = decode([Array("a".utf8) + bytes])
        #expect(result.pieces == ["a"])
        #expect(result.flushed == "\u{FFFD}")  // the stream ended: it can no longer complete
    }

    /// A start cut short by the next character can never complete: one U+FFFD, then that character.
    @Test func interruptedSequenceIsReplacedWhenTheNextCharacterArrives() {
        #expect(decode([[0xE2, 0x82], Array("a".utf8)]).pieces == ["", "\u{FFFD}a"])
        #expect(decode([[0xE2], Array("€".utf8)]).pieces == ["", "\u{FFFD}€"])
        #expect(decode([[0xF0, 0x9F], [0xF0, 0x9F, 0xA6], [0x99]]).pieces == ["", "\u{FFFD}", "🦙"])
    }

    @Test func endOfStreamFlushesAnIncompleteCharacterOnce() {
        var decoder = IncrementalDecoder(tokenizer: BytePieceTokenizer(pieces: [[0x68, 0xF0, 0x9F]]))
        #expect(decoder.push(0) == "h")
        #expect(decoder.flush() == "\u{FFFD}")
        #expect(decoder.flush() == "")
    }

    /// Whatever the token boundaries, the pieces joined are the bytes decoded at once, and for
    /// valid UTF-8 no piece contains U+FFFD: every cut of a mixed string into three tokens.
    @Test func everySplitJoinsToTheWholeDecoding() {
        let valid = Array("a😀é日\u{301}🏳️‍🌈z".utf8)
        let mixed =
            Array("x".utf8) + [0xE2, 0x82] + Array("ü".utf8) + [0xF0, 0x9F, 0x98] + [0xED, 0xA0, 0x80] + [0xC0, 0xAF] + Array("🦙".utf8)
        for bytes in [valid, mixed] {
            let whole = String(decoding: bytes, as: UTF8.self)
            for i in 0...bytes.count {
                for j in i...bytes.count {
                    let result = decode([Array(bytes[..<i]), Array(bytes[i..<j]), Array(bytes[j...])])
                    #expect(result.pieces.joined() + result.flushed == whole, "cut at \(i), \(j)")
                    if bytes == valid {
                        #expect(
                            !(result.pieces + [result.flushed]).contains { $0.unicodeScalars.contains("\u{FFFD}") }, "cut at \(i), \(j)")
                    }
                }
            }
        }
    }

    @Test func controlTokensFollowTheSpecialFlag() {
        #expect(decode([Array("a".utf8), []]).pieces == ["a", ""])
        var plain = IncrementalDecoder(tokenizer: BytePieceTokenizer(pieces: [Array("a".utf8)]))
        #expect(plain.push(1) == "")
        var special = IncrementalDecoder(tokenizer: BytePieceTokenizer(pieces: [Array("a".utf8)]), special: true)
        #expect(special.push(1) == "<eot>")
    }
}
