import ArgumentParser
import ModelInspection
import Models

#if canImport(Glibc)
import Glibc
#endif

struct Perplexity: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Perplexity of a model on a text file, computed as llama.cpp's llama-perplexity does.",
        discussion: """
            KL divergence against a base run, as llama-perplexity does it (the files are interchangeable):
              atelier perplexity BASE_MODEL -f TEXT -c 512 --kl-divergence-base base.kld    (writes the base)
              atelier perplexity MODEL --kl-divergence-base base.kld --kl-divergence         (compares)
            """)

    @Argument(help: "A stored or built-in model name, or a .gguf path.")
    var model: String

    @Option(name: [.short, .customLong("file")], help: "The text file to score (not needed with --kl-divergence).")
    var file: String?

    @Option(
        name: .customLong("kl-divergence-base"),
        help:
            "With --file: also save every scored position's log-probabilities to this file. With --kl-divergence: the base to compare with."
    )
    var klDivergenceBase: String?

    @Flag(name: .customLong("kl-divergence"), help: "Compare this model's distributions with --kl-divergence-base's, over its tokens.")
    var klDivergence = false

    @Flag(help: "Print JSON.")
    var json = false

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if klDivergence {
            guard klDivergenceBase != nil else {
                throw ValidationError(
                    "--kl-divergence needs --kl-divergence-base FILE (a base made with --file … --kl-divergence-base FILE)")
            }
            if file != nil { throw ValidationError("--kl-divergence reads its tokens from --kl-divergence-base; drop --file") }
        } else if file == nil {
            throw ValidationError("missing --file TEXT (the text to score)")
        }
    }

    func run() throws {
        if klDivergence { return try compare() }
        let text = try readTextFile(file!)
        let loaded = try runtime.load(model)
        let session = try runtime.session(for: loaded, defaultContext: 512, logitRows: 32)
        let result = try session.perplexity(text: text, tokenizer: loaded.tokenizer, saveLogProbabilities: klDivergenceBase) {
            chunk, chunks, running in
            if !json { Terminal.status("[\(chunk)/\(chunks)] \(Format.fixed(running, 4))") }
        }
        if json {
            print(try JSONText.encode(result))
        } else {
            Terminal.status(
                "\(result.chunks) chunks of \(result.contextLength) tokens, \(result.scoredTokens) scored, \(Format.fixed(result.seconds, 1)) s"
            )
            if let klDivergenceBase { Terminal.status("log-probabilities saved to \(klDivergenceBase)") }
            print("PPL = \(Format.fixed(result.perplexity, 4)) +/- \(Format.fixed(result.uncertainty, 5))")
        }
    }

    private func compare() throws {
        let base = try LogProbabilityFile.Reader(path: klDivergenceBase!)
        let loaded = try runtime.load(model)
        if let contextLength = runtime.contextLength, contextLength < base.contextLength {
            throw ValidationError("--ctx \(contextLength): \(base.path) was made with chunks of \(base.contextLength) tokens")
        }
        let session = try runtime.session(for: loaded, defaultContext: base.contextLength, logitRows: 32)
        let tokenizer = loaded.tokenizer
        let result = try session.klDivergence(base: base, bosToken: tokenizer.addsBOS ? tokenizer.bosTokenID : nil) { chunk, chunks in
            if !json { Terminal.status("[\(chunk)/\(chunks)]") }
        }
        if json { return print(try JSONText.encode(result)) }
        func line(_ label: String, _ e: MeanEstimate, _ digits: Int = 6, percent: Bool = false) -> String {
            let scale = percent ? 100.0 : 1
            return label.padding(30) + ": " + Format.fixed(e.value * scale, digits) + " ± "
                + Format.fixed(e.uncertainty * scale, digits) + (percent ? " %" : "")
        }
        print(
            "\(result.positions) positions in \(result.chunks) chunks of \(result.contextLength) tokens, \(Format.fixed(result.seconds, 1)) s"
        )
        print("====== Perplexity statistics ======")
        print(line("Mean PPL(Q)", result.perplexity))
        print(line("Mean PPL(base)", result.basePerplexity))
        print(line("Mean ln(PPL(Q)/PPL(base))", result.logPerplexityRatio))
        print("====== KL divergence statistics ======")
        print(line("Mean    KLD", result.meanKLD))
        for (name, _) in KLDivergenceResult.percentileNames {
            let label =
                name == "maximum" ? "Maximum KLD" : name == "minimum" ? "Minimum KLD" : name == "median" ? "Median  KLD" : "\(name)%  KLD"
            print(label.padding(30) + ": " + Format.fixed(result.kldPercentiles[name] ?? 0, 6))
        }
        print("====== Token probability statistics ======")
        print(line("Mean    Δp", result.meanProbabilityDifference, 3, percent: true))
        print(line("RMS Δp", result.rmsProbabilityDifference, 3, percent: true))
        print("Maximum |Δp|".padding(30) + ": " + Format.fixed(100 * result.maximumProbabilityDifference, 3) + " %")
        print(line("Same top p", result.sameTop, 3, percent: true))
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
