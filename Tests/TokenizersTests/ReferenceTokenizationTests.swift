import Foundation
import Testing
import Tokenizers

/// Ids must equal what llama.cpp produces for SmolLM2, exactly.
@Suite(.tags(.model)) struct ReferenceTokenizationTests {
    static let cases: [TokenizeFixture.Case] = (try? TokenizeFixture.load().cases) ?? []

    @Test func fixtureIsPresent() throws {
        let fixture = try TokenizeFixture.load()
        #expect(fixture.cases.count >= 7)
        #expect(fixture.cases.contains { $0.text == "Hello world" && $0.ids == [19556, 905] })
    }

    @Test(arguments: cases)
    func matchesLlamaCpp(_ c: TokenizeFixture.Case) throws {
        let tokenizer = try SmolLM2.tokenizer.get()
        #expect(tokenizer.encode(c.text, addBOS: false, parseSpecialTokens: c.parse_special) == c.ids)
    }

    @Test(arguments: cases)
    func roundTrips(_ c: TokenizeFixture.Case) throws {
        let tokenizer = try SmolLM2.tokenizer.get()
        let ids = tokenizer.encode(c.text, addBOS: false, parseSpecialTokens: c.parse_special)
        // Special tokens only come back as text when asked for.
        #expect(tokenizer.decode(ids, special: true) == c.text)
        // Decoding llama.cpp's own ids gives the text back too.
        #expect(tokenizer.decode(c.ids, special: true) == c.text)
    }

    @Test func referenceValues() throws {
        let t = try SmolLM2.tokenizer.get()
        #expect(t.encode("Hello world", addBOS: false, parseSpecialTokens: false) == [19556, 905])
        #expect(t.encode("  leading spaces", addBOS: false, parseSpecialTokens: false) == [216, 2899, 5600])
        #expect(
            t.encode("x=1;\n\ty = x**2  # comment", addBOS: false, parseSpecialTokens: false)
                == [104, 45, 33, 43, 198, 197, 105, 446, 1792, 828, 34, 216, 907, 5189])
        #expect(t.encode("", addBOS: false, parseSpecialTokens: false) == [])
        #expect(t.encode("The capital of France is", addBOS: false, parseSpecialTokens: false) == [504, 3575, 282, 4649, 314])
    }

    @Test func wholeFileMatchesLlamaCpp() throws {
        let tokenizer = try SmolLM2.tokenizer.get()
        let fixture = try JSONDecoder().decode(GPL3Fixture.self, from: Fixture.data("gpl3-ids.json"))
        let bytes = try Fixture.data(fixture.file)
        #expect(bytes.count == fixture.bytes)
        let text = String(decoding: bytes, as: UTF8.self)
        let clock = ContinuousClock()
        var ids: [Int32] = []
        let elapsed = clock.measure { ids = tokenizer.encode(text, addBOS: false, parseSpecialTokens: false) }
        print("GPL-3 (\(bytes.count) bytes): \(ids.count) tokens in \(elapsed)")
        #expect(ids.count == fixture.ids.count)
        if let first = zip(ids, fixture.ids).enumerated().first(where: { $0.element.0 != $0.element.1 }) {
            Issue.record("first difference at token \(first.offset): \(first.element.0) vs llama.cpp \(first.element.1)")
        }
        // Compared as one Bool so a failure reports the first difference above, not 8,000 ids.
        let identical = ids == fixture.ids
        #expect(identical)
        #expect(tokenizer.decode(ids) == text)
    }
}

/// Not a timed assertion: prints how long loading and whole-file tokenization take.
@Suite(.tags(.model)) struct SpeedReport {
    @Test func loadAndWholeFileTiming() throws {
        let metadata = try SmolLM2.metadata.get()
        let clock = ContinuousClock()
        var loaded: (any Tokenizer)?
        let loadTime = try clock.measure { loaded = try TokenizerLoader.load(from: metadata) }
        let tokenizer = try #require(loaded)
        let text = String(decoding: try Fixture.data("GPL-3.txt"), as: UTF8.self)
        var ids: [Int32] = []
        let first = clock.measure { ids = tokenizer.encode(text, addBOS: false, parseSpecialTokens: true) }
        let second = clock.measure { ids = tokenizer.encode(text, addBOS: false, parseSpecialTokens: true) }
        print("tokenizer load: \(loadTime); GPL-3 \(text.utf8.count) bytes → \(ids.count) tokens: \(first), again \(second)")
        #expect(ids.count > 5000)

        // Shapes that would expose quadratic behaviour: one 100 KB word, and 100 KB of digits
        // (SmolLM2 makes every digit its own word).
        for (name, long) in [
            ("100 KB single word", String(repeating: "a", count: 100_000)),
            ("100 KB digits", String(repeating: "3.14159 26535 ", count: 7_143)),
        ] {
            var n = 0
            let time = clock.measure { n = tokenizer.encode(long, addBOS: false, parseSpecialTokens: true).count }
            print("\(name) → \(n) tokens: \(time)")
            #expect(tokenizer.decode(tokenizer.encode(long, addBOS: false, parseSpecialTokens: true)) == long)
        }
    }
}
