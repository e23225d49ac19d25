import Foundation
import GGUF
import Testing
import Tokenizers

@testable import Training

@Suite struct BytePairTrainerTests {
    static let sample = """
        First Citizen:
        Before we proceed any further, hear me speak.

        All:
        Speak, speak. We're told 1234 times; they'll say "no" — café, naïve, 東京 and 😀!
          Indented line\twith a tab, and the end of the line.\r\nThe thin thistle, the other three.
        """

    /// Wikipedia's example word: aa (4 times) first, then ab and Za tie at 2 and the smaller
    /// (left, right) ids win: (a, b) = (97, 98) before (aa, a) = (256, 97); then aa+ab.
    @Test func mergesTheMostFrequentPairWithTiesToTheSmallerIDs() throws {
        let vocabulary = try BytePairTrainer(vocabularySize: 300).train(on: Array("aaabdaaabac".utf8))
        #expect(
            vocabulary.merges == [
                .init(left: 97, right: 97, result: 256), .init(left: 97, right: 98, result: 257), .init(left: 256, right: 257, result: 258),
            ])
        #expect(vocabulary.count == 259)  // every other pair occurs once
        #expect(vocabulary.tokens[258] == Array("aaab".utf8))
    }

    /// Word counts weight the pairs: " ab" three times outweighs "cd" inside one word twice.
    @Test func pairsAreCountedOverWordFrequencies() throws {
        let vocabulary = try BytePairTrainer(vocabularySize: 257).train(on: Array("xcdcd ab ab ab".utf8))
        #expect(vocabulary.merges == [.init(left: 0x20, right: 0x61, result: 256)])  // " a": 3; "cd", "ab": 2 and 3
    }

    @Test func mergesNeverCrossWordBoundaries() throws {
        let vocabulary = try BytePairTrainer(vocabularySize: 400).train(
            on: Array(String(repeating: "hello, hello, world. ", count: 20).utf8))
        let texts = vocabulary.tokens.map { String(decoding: $0, as: UTF8.self) }
        #expect(texts.contains(" hello") && texts.contains(" world"))
        #expect(!texts.contains { $0.contains(", ") || $0.contains("o,") || $0.contains(". ") || $0.contains("d.") })
        #expect(Set(vocabulary.tokens).count == vocabulary.count)
    }

    @Test func trainingIsDeterministic() throws {
        let corpus = Array(String(repeating: Self.sample, count: 3).utf8)
        let first = try BytePairTrainer(vocabularySize: 420).train(on: corpus)
        let second = try BytePairTrainer(vocabularySize: 420).train(on: corpus)
        #expect(first == second)
        // The sample repeats 3 times, so every pair occurs 3 or more times or not at all: training
        // stops when the words are whole tokens, short of 420.
        #expect(first.count > 300 && first.count <= 420)
    }

    /// The trained vocabulary written into GGUF metadata, read back by TokenizerLoader: that
    /// tokenizer, the vocabulary's own tokenizer and the training-order replay all agree, and
    /// decoding gives the text back.
    @Test func ggufTokenizerEncodesAsTrainingDid() throws {
        let corpus = Array(String(repeating: Self.sample, count: 4).utf8)
        let vocabulary = try BytePairTrainer(vocabularySize: 450).train(on: corpus)
        let h = LlamaHyperparameters(vocabularySize: vocabulary.count, width: 32, layers: 1, heads: 2, contextLength: 8)
        let metadata = GGUFExport.metadata(hyperparameters: h, tokenizer: vocabulary, quantization: .f32)
        let file = try GGUFFile(bytes: GGUFWriter(metadata: metadata).serialize().bytes)
        let fromFile = try TokenizerLoader.load(from: file.metadata)
        let direct = try vocabulary.makeTokenizer()
        #expect(fromFile.vocabularySize == vocabulary.count && !fromFile.addsBOS)
        let texts = [
            Self.sample, "the speak further", "  leading spaces and trailing   ", "We'll proceed 98765.\n\n\nÿ",
            "unseen words: zyxw qqq", "",
        ]
        for text in texts {
            let ids = fromFile.encode(text, addBOS: fromFile.addsBOS, parseSpecialTokens: true)
            #expect(ids == vocabulary.encodeByReplayingMerges(text), "\(text)")
            #expect(ids == direct.encode(text, addBOS: false, parseSpecialTokens: true))
            #expect(fromFile.decode(ids) == text)
            #expect(!ids.contains(BytePairVocabulary.boundaryTokenID))
        }
        #expect(fromFile.encode(Self.sample, addBOS: false, parseSpecialTokens: false).count < Self.sample.utf8.count / 2)
    }

    @Test func byteVocabularyEncodesEachByteAsItsID() throws {
        let tokenizer = try BytePairVocabulary.bytes.makeTokenizer()
        let text = "Hi, 東京\n"
        #expect(tokenizer.encode(text, addBOS: false, parseSpecialTokens: true) == Array(text.utf8).map { Int32($0) })
        #expect(tokenizer.vocabularySize == 256 && tokenizer.eosTokenID == 255)
    }

    @Test func refusesBadInput() throws {
        #expect(throws: TokenizerError.self) { try BytePairTrainer(vocabularySize: 100).train(on: Array("abc".utf8)) }
        do {
            _ = try BytePairTrainer(vocabularySize: 300).train(on: [0x61, 0x62, 0xC3, 0x28, 0x61])
            Issue.record("invalid UTF-8 accepted")
        } catch {
            #expect("\(error)".contains("invalid UTF-8 at byte 2"))
        }
        // Two merge paths to one token ("ab"+"c" and "a"+"bc") are refused in a hand-made vocabulary.
        #expect(throws: TokenizerError.self) {
            try BytePairVocabulary(merges: [
                .init(left: 97, right: 98, result: 256), .init(left: 98, right: 99, result: 257), .init(left: 256, right: 99, result: 258),
                .init(left: 97, right: 257, result: 259),
            ])
        }
    }
}
