import Foundation
import GGUF
import ModelStore
import Tokenizers

/// Checked-in fixtures, found from this file's location (no resource bundle).
enum Fixture {
    static let directory: String = {
        let here = "\(#filePath)"
        return String(here[..<here.lastIndex(of: "/")!]) + "/Fixtures"
    }()
    static func path(_ name: String) -> String { directory + "/" + name }
    static func data(_ name: String) throws -> Data {
        try Data(contentsOf: URL(fileURLWithPath: path(name)))
    }
}

/// Token ids llama.cpp produced (scripts/make-tokenizer-fixtures.py).
struct TokenizeFixture: Decodable {
    struct Case: Decodable, CustomStringConvertible {
        let text: String
        let parse_special: Bool
        let source: String
        let ids: [Int32]
        var description: String { "\(text.debugDescription) special=\(parse_special)" }
    }
    let cases: [Case]

    static func load() throws -> TokenizeFixture {
        try JSONDecoder().decode(TokenizeFixture.self, from: Fixture.data("smollm2-tokenize.json"))
    }
}

struct GPL3Fixture: Decodable {
    let file: String
    let bytes: Int
    let ids: [Int32]
}

/// SmolLM2's metadata and tokenizer, loaded once for all tests.
enum SmolLM2 {
    static let metadata: Result<GGUFMetadata, any Error> = Result {
        try GGUFFile(path: try ModelStore().resolve("smollm2-135m", progress: nil)).metadata
    }
    static let tokenizer: Result<any Tokenizer, any Error> = Result {
        try TokenizerLoader.load(from: try metadata.get())
    }
}

/// A small byte-level BPE vocabulary: the 256 byte characters, some merges, two control tokens.
func toyMetadata(model: String = "gpt2", pre: String? = "gpt2") -> GGUFMetadata {
    var tokens = (0..<256).map { ByteAlphabet.character(UInt8($0)) }
    let merges = ["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "Ġwor l", "Ġworl d"]
    for merge in merges { tokens.append(merge.replacingOccurrences(of: " ", with: "")) }
    tokens += ["<|im_start|>", "<|im_end|>"]
    var types = [Int32](repeating: 1, count: tokens.count)
    types[types.count - 2] = 3
    types[types.count - 1] = 3
    var pairs: [(String, GGUFValue)] = [
        ("tokenizer.ggml.model", .string(model)),
        ("tokenizer.ggml.tokens", .array(.string(tokens))),
        ("tokenizer.ggml.token_type", .array(.int32(types))),
        ("tokenizer.ggml.merges", .array(.string(merges))),
        ("tokenizer.ggml.eos_token_id", .uint32(UInt32(tokens.count - 1))),
    ]
    if let pre { pairs.append(("tokenizer.ggml.pre", .string(pre))) }
    return GGUFMetadata(pairs)
}

/// GPT-2's byte stand-ins, written independently of the module's table for the toy vocabulary.
enum ByteAlphabet {
    static func character(_ byte: UInt8) -> String {
        let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
        if printable { return String(Unicode.Scalar(byte)) }
        var n: UInt32 = 0
        for b in 0..<Int(byte) where !((0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b)) {
            n += 1
        }
        return String(Unicode.Scalar(256 + n)!)
    }
}
