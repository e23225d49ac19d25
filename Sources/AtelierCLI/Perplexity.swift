import ArgumentParser
import ModelInspection
import Models
#if canImport(Glibc)
import Glibc
#endif

struct Perplexity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Perplexity of a model on a text file, computed as llama.cpp's llama-perplexity does.")

    @Argument(help: "A stored or built-in model name, or a .gguf path.")
    var model: String

    @Option(name: [.short, .customLong("file")], help: "The text file to score.")
    var file: String

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var runtime: RuntimeOptions

    func run() throws {
        let text = try readTextFile(file)
        let loaded = try runtime.load(model)
        let session = try runtime.session(for: loaded, defaultContext: 512, logitRows: 32)
        let result = try session.perplexity(text: text, tokenizer: loaded.tokenizer) { chunk, chunks, running in
            if !json { Terminal.status("[\(chunk)/\(chunks)] \(Format.fixed(running, 4))") }
        }
        if json {
            print(try JSONText.encode(result))
        } else {
            Terminal.status("\(result.chunks) chunks of \(result.contextLength) tokens, \(result.scoredTokens) scored, \(Format.fixed(result.seconds, 1)) s")
            print("PPL = \(Format.fixed(result.perplexity, 4))")
        }
    }
}

/// Reads a whole UTF-8 text file, with errors that name the file.
func readTextFile(_ path: String) throws -> String {
    guard let handle = fopen(path, "rb") else {
        throw ValidationError("\(path): cannot open: \(String(cString: strerror(errno)))")
    }
    defer { fclose(handle) }
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = fread(&chunk, 1, chunk.count, handle)
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
        if bytes.count > 1 << 30 { throw ValidationError("\(path): larger than 1 GiB") }
    }
    guard let text = String(validating: bytes, as: UTF8.self) else {
        throw ValidationError("\(path): not valid UTF-8 text")
    }
    return text
}
