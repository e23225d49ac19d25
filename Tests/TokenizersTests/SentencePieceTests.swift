import Foundation
import GGUF
import ModelStore
import Testing
import Tokenizers

/// Gemma 3 token ids llama.cpp produced (scripts/make-gemma-tokenizer-fixtures.py).
struct GemmaTokenizeFixture: Decodable {
    struct Case: Decodable, CustomStringConvertible {
        let text: String
        let parse_special: Bool
        let add_bos: Bool
        let source: String
        let ids: [Int32]
        let pieces: [String]?
        var description: String { "\(text.debugDescription) special=\(parse_special) bos=\(add_bos)" }
    }
    let cases: [Case]
    let gpl3_file: String
    let gpl3_bytes: Int
    let gpl3_ids: [Int32]

    static func load() throws -> GemmaTokenizeFixture {
        try JSONDecoder().decode(GemmaTokenizeFixture.self, from: Fixture.data("gemma3-tokenize.json"))
    }
}

/// Gemma 3 270M's metadata and tokenizer, loaded once for all tests.
enum Gemma3 {
    static let metadata: Result<GGUFMetadata, any Error> = Result {
        try GGUFFile(path: try ModelStore().resolve("gemma3-270m", progress: nil)).metadata
    }
    static let tokenizer: Result<any Tokenizer, any Error> = Result {
        try TokenizerLoader.load(from: try metadata.get())
    }
}

/// Ids must equal what llama.cpp produces for Gemma 3, exactly.
@Suite(.tags(.model)) struct GemmaReferenceTokenizationTests {
    static let cases: [GemmaTokenizeFixture.Case] = (try? GemmaTokenizeFixture.load().cases) ?? []

    @Test func fixtureIsPresent() throws {
        let fixture = try GemmaTokenizeFixture.load()
        #expect(fixture.cases.count >= 45)
        #expect(fixture.cases.contains { $0.text == "Hello world" && $0.add_bos && $0.ids == [2, 9259, 1902] })
        #expect(fixture.gpl3_ids.count > 5000)
    }

    @Test(arguments: cases)
    func matchesLlamaCpp(_ c: GemmaTokenizeFixture.Case) throws {
        let tokenizer = try Gemma3.tokenizer.get()
        #expect(tokenizer.encode(c.text, addBOS: c.add_bos, parseSpecialTokens: c.parse_special) == c.ids)
    }

    @Test(arguments: cases)
    func roundTrips(_ c: GemmaTokenizeFixture.Case) throws {
        let tokenizer = try Gemma3.tokenizer.get()
        let ids = tokenizer.encode(c.text, addBOS: false, parseSpecialTokens: c.parse_special)
        // A literal "▁" in the input is a space stand-in too, so it comes back as a space (as in llama.cpp).
        let expected = c.text.replacingOccurrences(of: "▁", with: " ")
        // Special tokens only come back as text when asked for.
        #expect(tokenizer.decode(ids, special: true) == expected)
        // Decoding llama.cpp's own ids (less BOS) gives the text back too.
        #expect(tokenizer.decode(Array(c.ids.dropFirst(c.add_bos ? 1 : 0)), special: true) == expected)
        if let pieces = c.pieces {
            #expect(c.ids.map { String(decoding: tokenizer.decodeBytes($0, special: true), as: UTF8.self) } == pieces)
        }
    }

    @Test func referenceValues() throws {
        let t = try Gemma3.tokenizer.get()
        #expect(t.encode("Hello world", addBOS: true, parseSpecialTokens: false) == [2, 9259, 1902])
        #expect(t.encode("  leading spaces", addBOS: true, parseSpecialTokens: false) == [2, 138, 26016, 9952])
        #expect(
            t.encode("x=1;\n\ty = x**2  # comment", addBOS: true, parseSpecialTokens: false)
                == [2, 236781, 236784, 236770, 236793, 107, 255968, 236762, 578, 1123, 1018, 236778, 138, 236865, 5739])
        #expect(t.encode("", addBOS: true, parseSpecialTokens: false) == [2])
        #expect(t.encode("", addBOS: false, parseSpecialTokens: false) == [])
        #expect(
            t.encode("The capital of France is", addBOS: true, parseSpecialTokens: false)
                == [2, 818, 5279, 529, 7001, 563])
        #expect(
            t.encode("<start_of_turn>user\nHi<end_of_turn>", addBOS: false, parseSpecialTokens: true)
                == [105, 2364, 107, 10979, 106])
    }

    @Test func wholeFileMatchesLlamaCpp() throws {
        let tokenizer = try Gemma3.tokenizer.get()
        let fixture = try GemmaTokenizeFixture.load()
        let bytes = try Fixture.data(fixture.gpl3_file)
        #expect(bytes.count == fixture.gpl3_bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        let clock = ContinuousClock()
        var ids: [Int32] = []
        let elapsed = clock.measure { ids = tokenizer.encode(text, addBOS: false, parseSpecialTokens: false) }
        print("Gemma 3 GPL-3 (\(bytes.count) bytes): \(ids.count) tokens in \(elapsed)")
        #expect(ids.count == fixture.gpl3_ids.count)
        if let first = zip(ids, fixture.gpl3_ids).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
            Issue.record("first difference at token \(first.offset): \(first.element.0) vs llama.cpp \(first.element.1)")
        }
        let identical = ids == fixture.gpl3_ids
        #expect(identical)
        #expect(tokenizer.decode(ids) == text)
    }
}

@Suite(.tags(.model)) struct GemmaMetadataTests {
    @Test func specialIDsAndFlags() throws {
        let t = try Gemma3.tokenizer.get()
        #expect(t.vocabularySize == 262_144)
        #expect(t.bosTokenID == 2)
        #expect(t.eosTokenID == 1)
        #expect(t.addsBOS == true)
        let spm = try #require(t as? SentencePieceTokenizer)
        #expect(spm.addsSpacePrefix == false)
        #expect(spm.addsEOS == false)
        #expect(t.tokenText(105) == "<start_of_turn>")
        #expect(t.tokenText(106) == "<end_of_turn>")
        #expect(t.isControl(105) && t.isControl(106) && t.isControl(2) && !t.isControl(9259))
        #expect(t.isEndOfGeneration(1) && t.isEndOfGeneration(106))
        #expect(!t.isEndOfGeneration(105) && !t.isEndOfGeneration(2) && !t.isEndOfGeneration(9259))
        #expect(spm.tokenType(478) == .byte)
        #expect(spm.tokenType(138) == .userDefined)
    }

    @Test func decodingFollowsTokenToPiece() throws {
        let t = try Gemma3.tokenizer.get()
        // Control tokens: empty unless asked for.
        #expect(t.decodeBytes(106, special: false) == [])
        #expect(t.decodeBytes(106, special: true) == Array("<end_of_turn>".utf8))
        // "▁" is a space.
        #expect(t.tokenText(1902) == "▁world")
        #expect(t.decodeBytes(1902, special: false) == Array(" world".utf8))
        // User-defined: the raw text (two spaces), even without `special`.
        #expect(t.decodeBytes(138, special: false) == [0x20, 0x20])
        // Byte tokens: the byte.
        #expect(t.tokenText(478) == "<0xF0>")
        #expect(t.decodeBytes(478, special: false) == [0xF0])
        #expect(t.decodeBytes(-1, special: true) == [])
        #expect(t.decodeBytes(Int32(t.vocabularySize), special: true) == [])
        #expect(t.tokenText(-5) == "")
    }

    @Test func incrementalDecoderOnByteFallbackEmoji() throws {
        let t = try Gemma3.tokenizer.get()
        // U+1FAE9 (Unicode 16) is not in Gemma's vocabulary: llama.cpp gives its four UTF-8 bytes.
        let ids = t.encode("🫩", addBOS: false, parseSpecialTokens: false)
        #expect(ids == [478, 397, 409, 407])
        var decoder = IncrementalDecoder(tokenizer: t)
        let pieces = ids.map { decoder.push($0) }
        #expect(pieces == ["", "", "", "🫩"])
        #expect(decoder.flush() == "")

        var streamed = IncrementalDecoder(tokenizer: t)
        var text = ""
        for id in t.encode("a 🫩🪾 b 日本", addBOS: true, parseSpecialTokens: false) {
            let piece = streamed.push(id)
            #expect(!piece.contains("\u{FFFD}"))
            text += piece
        }
        text += streamed.flush()
        #expect(text == "a 🫩🪾 b 日本")
    }
}

/// A tiny SentencePiece vocabulary whose results can be worked out by hand.
///   0 <unk> (unknown)  1 <s> (control)  2 </s> (control)  3 "▁"  4 "a"  5 "b"  6 "ab"  7 "aa"
///   8 "▁a"  9 "<u>" (user-defined), then byte tokens <0x00>…<0xFF> except <0x7A> ("z"):
///   byte b has id 10 + b below 0x7A and 9 + b above.
func toySentencePieceMetadata(
    addSpacePrefix: Bool? = nil, scores: [Float]? = nil,
    extra: [(String, GGUFValue)] = []
) -> GGUFMetadata {
    var tokens = ["<unk>", "<s>", "</s>", "▁", "a", "b", "ab", "aa", "▁a", "<u>"]
    var types: [Int32] = [2, 3, 3, 1, 1, 1, 1, 1, 1, 4]
    var toyScores: [Float] = [0, 0, 0, -1, -2, -2, -5, -3, -0.5, 0]
    for b in 0..<256 where b != 0x7A {
        tokens.append("<0x" + String(b, radix: 16, uppercase: true).leftPadded(2) + ">")
        types.append(6)
        toyScores.append(0)
    }
    var pairs: [(String, GGUFValue)] = [
        ("tokenizer.ggml.model", .string("llama")),
        ("tokenizer.ggml.tokens", .array(.string(tokens))),
        ("tokenizer.ggml.token_type", .array(.int32(types))),
        ("tokenizer.ggml.scores", .array(.float32(scores ?? toyScores))),
    ]
    if let addSpacePrefix { pairs.append(("tokenizer.ggml.add_space_prefix", .bool(addSpacePrefix))) }
    return GGUFMetadata(pairs + extra)
}

extension String {
    fileprivate func leftPadded(_ n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}

@Suite struct ToySentencePieceTests {
    func byte(_ b: UInt8) -> Int32 { b < 0x7A ? 10 + Int32(b) : 9 + Int32(b) }

    @Test func defaultsFollowLlamaCpp() throws {
        let t = try TokenizerLoader.load(from: toySentencePieceMetadata())
        let spm = try #require(t as? SentencePieceTokenizer)
        // No id keys: llama.cpp's SPM defaults (BOS 1, EOS 2, unknown 0), BOS and space prefix on.
        #expect(t.bosTokenID == 1 && t.eosTokenID == 2 && spm.unknownTokenID == 0)
        #expect(t.addsBOS && spm.addsSpacePrefix)
        #expect(t.isEndOfGeneration(2) && !t.isEndOfGeneration(1))
        #expect(spm.score(8) == -0.5)
        #expect(spm.tokenID(forText: "▁a") == 8)
    }

    @Test func highestScoreMergesFirst() throws {
        let t = try TokenizerLoader.load(from: toySentencePieceMetadata())
        // "▁ab": "▁a" (-0.5) beats "ab" (-5), and "▁ab" is no entry.
        #expect(t.encode("ab", addBOS: true, parseSpecialTokens: false) == [1, 8, 5])
        // "▁aaa": "▁a" merges first, which makes the queued "aa" at position 1 stale.
        #expect(t.encode("aaa", addBOS: false, parseSpecialTokens: false) == [8, 7])
        // Spaces become "▁": "▁a▁b".
        #expect(t.encode("a b", addBOS: false, parseSpecialTokens: false) == [8, 3, 5])
    }

    @Test func tiesGoToTheLeftmostPair() throws {
        let t = try TokenizerLoader.load(from: toySentencePieceMetadata(addSpacePrefix: false))
        #expect(t.encode("aaa", addBOS: false, parseSpecialTokens: false) == [7, 4])
        #expect(t.encode("bab", addBOS: false, parseSpecialTokens: false) == [5, 6])
        #expect(t.encode(" a", addBOS: false, parseSpecialTokens: false) == [8])
    }

    @Test func byteFallbackAndUnknown() throws {
        let t = try TokenizerLoader.load(from: toySentencePieceMetadata(addSpacePrefix: false))
        // "é" (C3 A9) and "c" are no entries: one byte token each.
        #expect(t.encode("éc", addBOS: false, parseSpecialTokens: false) == [byte(0xC3), byte(0xA9), byte(0x63)])
        // "z" has neither <0x7A> nor a "z" token: unknown.
        #expect(t.encode("za", addBOS: false, parseSpecialTokens: false) == [0, 4])
        #expect(t.decode([byte(0xC3), byte(0xA9), byte(0x63)]) == "éc")
    }

    @Test func specialTokensAndSpacePrefix() throws {
        let t = try TokenizerLoader.load(from: toySentencePieceMetadata())
        // A space prefix starts every text fragment that follows a special token.
        #expect(t.encode("ab<s>ab", addBOS: false, parseSpecialTokens: true) == [8, 5, 1, 8, 5])
        #expect(
            t.encode("ab<s>ab", addBOS: false, parseSpecialTokens: false)
                == [8, 5, byte(0x3C), byte(0x73), byte(0x3E), 6])
        // User-defined tokens are split out even without parseSpecialTokens.
        #expect(t.encode("a<u>a", addBOS: false, parseSpecialTokens: false) == [8, 9, 8])
        #expect(t.decode([1, 8, 5, 9, 2]) == " ab<u>")
        #expect(t.decode([1, 8, 5, 9, 2], special: true) == "<s> ab<u></s>")
    }
}

@Suite struct SentencePieceErrorTests {
    func error(_ metadata: GGUFMetadata) -> TokenizerError? {
        do {
            _ = try TokenizerLoader.load(from: metadata)
            return nil
        } catch let e as TokenizerError {
            return e
        } catch {
            return nil
        }
    }

    @Test func toyLoads() {
        #expect(error(toySentencePieceMetadata()) == nil)
    }

    @Test func scoresCountMismatch() {
        let e = error(toySentencePieceMetadata(scores: [0, 1, 2]))
        #expect(e?.key == "tokenizer.ggml.scores")
        #expect(e?.reason == .invalidValue)
        #expect(e?.description.contains("3") == true)
    }

    @Test func missingScores() {
        var m = toySentencePieceMetadata()
        m["tokenizer.ggml.scores"] = nil
        let e = error(m)
        #expect(e?.key == "tokenizer.ggml.scores")
        #expect(e?.reason == .missingKey)
    }

    @Test func illTypedScores() {
        var m = toySentencePieceMetadata()
        m["tokenizer.ggml.scores"] = .array(.string(["x"]))
        let e = error(m)
        #expect(e?.key == "tokenizer.ggml.scores")
        #expect(e?.reason == .wrongType)
    }

    @Test func illTypedSpacePrefix() {
        let e = error(toySentencePieceMetadata(extra: [("tokenizer.ggml.add_space_prefix", .string("yes"))]))
        #expect(e?.key == "tokenizer.ggml.add_space_prefix")
        #expect(e?.reason == .wrongType)
    }

    @Test func bosOutsideVocabulary() {
        let e = error(toySentencePieceMetadata(extra: [("tokenizer.ggml.bos_token_id", .uint32(1_000_000))]))
        #expect(e?.key == "tokenizer.ggml.bos_token_id")
    }
}

/// Not a timed assertion: prints how long loading Gemma's 262k tokens and tokenizing GPL-3 take.
@Suite(.tags(.model)) struct GemmaSpeedReport {
    @Test func loadAndWholeFileTiming() throws {
        let metadata = try Gemma3.metadata.get()
        let clock = ContinuousClock()
        var loaded: (any Tokenizer)?
        let loadTime = try clock.measure { loaded = try TokenizerLoader.load(from: metadata) }
        let tokenizer = try #require(loaded)
        let text = String(decoding: try Fixture.data("GPL-3.txt"), as: UTF8.self)
        var ids: [Int32] = []
        let first = clock.measure { ids = tokenizer.encode(text, addBOS: false, parseSpecialTokens: true) }
        let second = clock.measure { ids = tokenizer.encode(text, addBOS: false, parseSpecialTokens: true) }
        print("Gemma tokenizer load: \(loadTime); GPL-3 \(text.utf8.count) bytes → \(ids.count) tokens: \(first), again \(second)")
        #expect(ids.count > 5000)

        for (name, long) in [
            ("100 KB single word", String(repeating: "a", count: 100_000)),
            ("100 KB digits", String(repeating: "3.14159 26535 ", count: 7_143)),
            ("30 KB CJK", String(repeating: "日本語の中文测试", count: 1_250)),
        ] {
            var n = 0
            let time = clock.measure { n = tokenizer.encode(long, addBOS: false, parseSpecialTokens: true).count }
            print("\(name) → \(n) tokens: \(time)")
            #expect(tokenizer.decode(tokenizer.encode(long, addBOS: false, parseSpecialTokens: true)) == long)
        }
    }
}
