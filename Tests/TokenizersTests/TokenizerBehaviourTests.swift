import GGUF
import Testing
import Tokenizers

@Suite(.tags(.model)) struct SmolLM2MetadataTests {
    @Test func specialIDsAndFlags() throws {
        let t = try SmolLM2.tokenizer.get()
        #expect(t.vocabularySize == 49152)
        #expect(t.bosTokenID == 1)
        #expect(t.eosTokenID == 2)
        #expect(t.addsBOS == false)
        #expect(t.tokenText(1) == "<|im_start|>")
        #expect(t.isControl(1) && t.isControl(2) && !t.isControl(19556))
        // llama.cpp's end-of-generation set for SmolLM2: <|endoftext|>, <|im_end|>, and <reponame>
        // (a fill-in-the-middle repo token), nothing else.
        let eog = (0..<Int32(t.vocabularySize)).filter { t.isEndOfGeneration($0) }
        #expect(eog == [0, 2, 4])
        #expect(t.encode("Hi", addBOS: true, parseSpecialTokens: false).first == 1)
    }

    @Test func controlTokensDecodeOnlyWhenAsked() throws {
        let t = try SmolLM2.tokenizer.get()
        #expect(t.decodeBytes(2, special: false) == [])
        #expect(t.decodeBytes(2, special: true) == Array("<|im_end|>".utf8))
        #expect(t.decodeBytes(19556, special: false) == Array("Hello".utf8))
        #expect(t.decodeBytes(905, special: false) == Array(" world".utf8))
        #expect(t.tokenText(905) == "Ġworld")
        #expect(t.decodeBytes(-1, special: true) == [])
        #expect(t.decodeBytes(Int32(t.vocabularySize), special: true) == [])
        #expect(t.tokenText(-5) == "")
    }

    @Test func specialTokenTextIsParsedOnlyWhenAsked() throws {
        let t = try SmolLM2.tokenizer.get()
        let text = "<|im_start|>user\nHi<|im_end|>"
        let parsed = t.encode(text, addBOS: false, parseSpecialTokens: true)
        #expect(parsed.first == 1 && parsed.last == 2)
        #expect(parsed.dropFirst().dropLast().allSatisfy { !t.isControl($0) })
        let literal = t.encode(text, addBOS: false, parseSpecialTokens: false)
        #expect(!literal.contains(1) && !literal.contains(2))
        #expect(t.decode(literal) == text)
        #expect(t.decode(parsed) == "user\nHi")
    }
}

@Suite(.tags(.model)) struct IncrementalDecoderTests {
    static let texts = ["👨‍👩‍👧‍👦 family", "🦙 llama", "日本語のテキスト", "naïve café", "a😀b👍🏽c", "🏳️‍🌈"]

    @Test(arguments: texts)
    func neverEmitsPartialCharacters(_ text: String) throws {
        let t = try SmolLM2.tokenizer.get()
        let ids = t.encode(text, addBOS: false, parseSpecialTokens: false)
        // The point of the test: some token must end inside a character.
        var decoder = IncrementalDecoder(tokenizer: t)
        var pieces: [String] = []
        for id in ids { pieces.append(decoder.push(id)) }
        pieces.append(decoder.flush())
        for piece in pieces { #expect(!piece.unicodeScalars.contains("\u{FFFD}"), "partial character in \(piece.debugDescription)") }
        #expect(pieces.joined() == text)
        #expect(pieces.joined() == t.decode(ids))
    }

    @Test func emojiIsSplitAcrossTokensAndHeldBack() throws {
        let t = try SmolLM2.tokenizer.get()
        let ids = t.encode("🦙", addBOS: false, parseSpecialTokens: false)
        #expect(ids.count > 1)
        var decoder = IncrementalDecoder(tokenizer: t)
        let outputs = ids.map { decoder.push($0) }
        #expect(outputs.dropLast().allSatisfy { $0.isEmpty })
        #expect(outputs.last == "🦙")
        #expect(decoder.flush() == "")
    }

    @Test func flushEmitsIncompleteTailAsReplacement() throws {
        let t = try SmolLM2.tokenizer.get()
        let ids = t.encode("🦙", addBOS: false, parseSpecialTokens: false)
        var decoder = IncrementalDecoder(tokenizer: t)
        #expect(decoder.push(ids[0]) == "")
        #expect(decoder.flush() == "\u{FFFD}")
        #expect(decoder.flush() == "")
    }

    @Test func specialTokensFollowTheSpecialFlag() throws {
        let t = try SmolLM2.tokenizer.get()
        var plain = IncrementalDecoder(tokenizer: t)
        #expect(plain.push(2) == "")
        var special = IncrementalDecoder(tokenizer: t, special: true)
        #expect(special.push(2) == "<|im_end|>")
    }
}

@Suite struct ToyVocabularyTests {
    @Test func mergesByRankAndSplitsSpecials() throws {
        let t = try TokenizerLoader.load(from: toyMetadata())
        #expect(t.vocabularySize == 256 + 9 + 2)
        // "hello" merges to one token (id 256+3), " world" to one (256+8).
        #expect(t.encode("hello world", addBOS: false, parseSpecialTokens: false) == [259, 264])
        #expect(t.encode("<|im_start|>hello", addBOS: false, parseSpecialTokens: true) == [265, 259])
        #expect(t.decode(t.encode("héllo\tw 🦙", addBOS: false, parseSpecialTokens: false)) == "héllo\tw 🦙")
        #expect(t.addsBOS == false)
        #expect(t.bosTokenID == nil)
        #expect(t.isEndOfGeneration(266))  // eos, and "<|im_end|>" by its text
    }

    @Test func llama3PreTokenizerDefaultsToBOS() throws {
        var metadata = toyMetadata(pre: "llama-bpe")
        metadata["tokenizer.ggml.bos_token_id"] = .uint32(265)
        let t = try TokenizerLoader.load(from: metadata)
        #expect(t.addsBOS)
        #expect(t.encode("hello", addBOS: true, parseSpecialTokens: false) == [265, 259])
    }

    @Test(arguments: ["gpt2", "smollm", "llama3", "llama-bpe", "qwen2", nil] as [String?])
    func knownPreTokenizersLoadAndRoundTrip(_ pre: String?) throws {
        var metadata = toyMetadata(pre: pre)
        metadata["tokenizer.ggml.add_bos_token"] = .bool(false)
        let t = try TokenizerLoader.load(from: metadata)
        let text = "Hello wörld 12345 don't\n\n  x  "
        #expect(t.decode(t.encode(text, addBOS: false, parseSpecialTokens: false)) == text)
    }
}

@Suite struct TokenizerErrorTests {
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

    @Test func missingTokens() {
        var m = toyMetadata()
        m["tokenizer.ggml.tokens"] = nil
        let e = error(m)
        #expect(e?.key == "tokenizer.ggml.tokens")
        #expect(e?.reason == .missingKey)
    }

    @Test func illTypedTokens() {
        var m = toyMetadata()
        m["tokenizer.ggml.tokens"] = .array(.int32([1, 2]))
        let e = error(m)
        #expect(e?.key == "tokenizer.ggml.tokens")
        #expect(e?.reason == .wrongType)
        #expect(e?.description.contains("INT32") == true)
    }

    @Test func missingModel() {
        var m = toyMetadata()
        m["tokenizer.ggml.model"] = nil
        #expect(error(m)?.key == "tokenizer.ggml.model")
    }

    @Test func unknownModelKind() {
        let e = error(toyMetadata(model: "wordpiece-ish"))
        #expect(e?.key == "tokenizer.ggml.model")
        #expect(e?.reason == .unsupported)
        #expect(e?.description.contains("wordpiece-ish") == true)
    }

    @Test func sentencePieceNeedsScores() {
        // "llama" (SentencePiece) is supported now (SentencePieceTests); this byte-level toy has no scores.
        let e = error(toyMetadata(model: "llama"))
        #expect(e?.key == "tokenizer.ggml.scores")
        #expect(e?.reason == .missingKey)
    }

    @Test func unknownPreTokenizer() {
        let e = error(toyMetadata(pre: "martian"))
        #expect(e?.key == "tokenizer.ggml.pre")
        #expect(e?.description.contains("martian") == true)
    }

    @Test func mergeNamingAMissingToken() {
        var m = toyMetadata()
        m["tokenizer.ggml.merges"] = .array(.string(["h e", "q zz"]))
        let e = error(m)
        #expect(e?.key == "tokenizer.ggml.merges")
        #expect(e?.description.contains("zz") == true)
    }

    @Test func malformedMerge() {
        var m = toyMetadata()
        m["tokenizer.ggml.merges"] = .array(.string(["he"]))
        #expect(error(m)?.key == "tokenizer.ggml.merges")
    }

    @Test func missingMerges() {
        var m = toyMetadata()
        m["tokenizer.ggml.merges"] = nil
        #expect(error(m)?.reason == .missingKey)
    }

    @Test func tokenTypeCountMismatch() {
        var m = toyMetadata()
        m["tokenizer.ggml.token_type"] = .array(.int32([1, 1, 1]))
        let e = error(m)
        #expect(e?.key == "tokenizer.ggml.token_type")
        #expect(e?.description.contains("3") == true)
    }

    @Test func illTypedFlagAndIDs() {
        var m = toyMetadata()
        m["tokenizer.ggml.add_bos_token"] = .string("yes")
        #expect(error(m)?.key == "tokenizer.ggml.add_bos_token")
        m = toyMetadata()
        m["tokenizer.ggml.eos_token_id"] = .uint32(999_999)
        #expect(error(m)?.key == "tokenizer.ggml.eos_token_id")
        m = toyMetadata()
        m["tokenizer.ggml.add_bos_token"] = .bool(true)
        #expect(error(m)?.key == "tokenizer.ggml.bos_token_id")
    }
}
