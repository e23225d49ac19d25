import ArgumentParser
import GGUF
import ModelStore
import Tokenizers

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the token ids of a text; BOS is added exactly when the model asks for it.")

    @Argument(help: "[MODEL] TEXT — or give --file instead of TEXT.")
    var arguments: [String] = []

    @Option(name: [.short, .customLong("file")], help: "Read the text from this file.")
    var file: String?

    @Flag(name: .customLong("no-bos"), help: "Never add BOS.")
    var noBOS = false

    @Flag(name: .customLong("no-parse-special"), help: "Treat special-token text like <|im_start|> as plain text.")
    var noParseSpecial = false

    @Flag(help: "Print JSON: ids and pieces.")
    var json = false

    func validate() throws {
        let expected = file == nil ? 1...2 : 0...1
        guard expected.contains(arguments.count) else {
            throw ValidationError(file == nil ? "expected TEXT or MODEL TEXT" : "with --file, give at most a MODEL")
        }
    }

    func run() throws {
        let model: String
        let text: String
        if let file {
            model = arguments.first ?? ModelCatalog.defaultModelName
            text = try readTextFile(file)
        } else {
            model = arguments.count == 2 ? arguments[0] : ModelCatalog.defaultModelName
            text = arguments.last!
        }
        let path = try ModelStore().resolve(model, progress: TerminalProgress())
        let tokenizer = try TokenizerLoader.load(from: try GGUFFile(path: path).metadata)
        let ids = tokenizer.encode(text, addBOS: tokenizer.addsBOS && !noBOS, parseSpecialTokens: !noParseSpecial)
        if json {
            struct Output: Encodable { let ids: [Int32]; let pieces: [String] }
            let pieces = ids.map { String(decoding: tokenizer.decodeBytes($0, special: true), as: UTF8.self) }
            print(try JSONText.encode(Output(ids: ids, pieces: pieces)))
        } else {
            print("[" + ids.map(String.init).joined(separator: ", ") + "]")
        }
    }
}
