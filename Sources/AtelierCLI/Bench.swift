import ArgumentParser
import Compute
import GGUF
import ModelInspection
import ModelStore
import Models

/// Prompt-processing and decode speed, measured the way llama-bench does: `-p N` tokens
/// evaluated from an empty cache, then `-n N` tokens decoded one at a time, repeated `-r` times.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Measure prompt processing (pp) and decode (tg) speed in tokens per second.")

    @Argument(help: "A stored or built-in model name, or a .gguf path.")
    var model: String = ModelCatalog.defaultModelName

    @Option(name: [.customShort("p"), .customLong("n-prompt")], help: "Prompt tokens per pp run (0 skips pp).")
    var promptTokens: Int = 512
    @Option(name: [.customShort("n"), .customLong("n-gen")], help: "Generated tokens per tg run (0 skips tg).")
    var generatedTokens: Int = 128
    @Option(name: [.customShort("r"), .customLong("repetitions")], help: "Repetitions; mean ± standard deviation is reported.")
    var repetitions: Int = 5
    @Flag(help: "Print JSON.")
    var json = false
    @OptionGroup var runtime: RuntimeOptions

    struct Result: Encodable {
        let test: String
        let tokensPerSecond: [Double]
        /// Decode only: bytes one token reads (weights + average KV), the read bandwidth measured in
        /// this process, and the share of that roofline the mean speed reaches.
        var bytesPerToken: Double?
        var bandwidthBytesPerSecond: Double?
        var rooflineFraction: Double? {
            guard let bytesPerToken, let bandwidthBytesPerSecond else { return nil }
            return mean * bytesPerToken / bandwidthBytesPerSecond
        }
        var mean: Double { tokensPerSecond.reduce(0, +) / Double(tokensPerSecond.count) }
        var standardDeviation: Double {
            let m = mean
            return (tokensPerSecond.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(max(1, tokensPerSecond.count - 1))).squareRoot()
        }
        enum CodingKeys: String, CodingKey {
            case test, tokensPerSecond, mean, standardDeviation, bytesPerToken, bandwidthBytesPerSecond, rooflineFraction
        }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(test, forKey: .test)
            try c.encode(tokensPerSecond, forKey: .tokensPerSecond)
            try c.encode(mean, forKey: .mean)
            try c.encode(standardDeviation, forKey: .standardDeviation)
            try c.encodeIfPresent(bytesPerToken, forKey: .bytesPerToken)
            try c.encodeIfPresent(bandwidthBytesPerSecond, forKey: .bandwidthBytesPerSecond)
            try c.encodeIfPresent(rooflineFraction, forKey: .rooflineFraction)
        }
    }

    func validate() throws {
        guard promptTokens >= 0, generatedTokens >= 0, repetitions >= 1 else {
            throw ValidationError("-p and -n must be ≥ 0 and -r ≥ 1")
        }
    }

    func run() throws {
        let loaded = try runtime.load(model)
        let vocabulary = loaded.model.configuration.vocabularySize
        let session = try runtime.session(for: loaded, defaultContext: max(promptTokens + generatedTokens, 1))
        // Deterministic pseudo-random tokens, like llama-bench's random prompt.
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        func token() -> Int32 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int32(truncatingIfNeeded: (state >> 33) % UInt64(vocabulary))
        }
        let clock = ContinuousClock()
        // One warm-up pass pages the weights in, as llama-bench's warm-up run does.
        session.reset()
        _ = try session.evaluate([token()])
        var results: [Result] = []
        if promptTokens > 0 {
            var speeds: [Double] = []
            for _ in 0..<repetitions {
                let prompt = (0..<promptTokens).map { _ in token() }
                session.reset()
                let start = clock.now
                _ = try session.evaluate(prompt)
                speeds.append(Double(promptTokens) / seconds(clock.now - start))
            }
            results.append(Result(test: "pp\(promptTokens)", tokensPerSecond: speeds))
        }
        if generatedTokens > 0 {
            var speeds: [Double] = []
            for _ in 0..<repetitions {
                session.reset()
                let start = clock.now
                for _ in 0..<generatedTokens { _ = try session.evaluate([token()]) }
                speeds.append(Double(generatedTokens) / seconds(clock.now - start))
            }
            var result = Result(test: "tg\(generatedTokens)", tokensPerSecond: speeds)
            if let cpu = loaded.model.backend as? CPUBackend {
                let c = loaded.model.configuration
                let averageKV = Double(c.blockCount * 2 * c.kvWidth * session.cache.type.bytesPerElement) * Double(generatedTokens) / 2
                result.bytesPerToken = Double(Self.weightBytesReadPerToken(loaded.file)) + averageKV
                result.bandwidthBytesPerSecond = MemoryBandwidth.measureRead(pool: cpu.pool)
            }
            results.append(result)
        }
        if json {
            print(try JSONText.encode(results))
        } else {
            print(
                Format.table(
                    ["model", "backend", "test", "t/s"],
                    results.map {
                        [
                            model, loaded.model.backend.name, $0.test,
                            "\(Format.fixed($0.mean, 2)) ± \(Format.fixed($0.standardDeviation, 2))",
                        ]
                    }, rightAligned: [3]))
            if let tg = results.last, let bytes = tg.bytesPerToken, let bandwidth = tg.bandwidthBytesPerSecond,
                let share = tg.rooflineFraction
            {
                print(
                    "decode reads \(Format.bytes(Int64(bytes))) per token; read bandwidth measured now: "
                        + "\(Format.fixed(bandwidth / 1e9, 1)) GB/s → roofline \(Format.fixed(bandwidth / bytes, 1)) t/s; "
                        + "\(tg.test) reaches \(Format.fixed(share * 100, 1))% of it")
            }
        }
        // VmHWM of this process's own address space: unlike getrusage's ru_maxrss it does not
        // inherit the peak of a parent that spawned us with vfork semantics (posix_spawn).
        if let peak = Terminal.peakResidentBytes() {
            Terminal.status("peak resident memory: \(peak) bytes (\(Format.bytes(peak)))")
        }
    }

    /// Every tensor is read once per decoded token except the embedding table, of which one row
    /// is read, unless the model ties it to the output projection (no `output.weight`).
    static func weightBytesReadPerToken(_ file: GGUFFile) -> Int {
        let tied = !file.tensors.contains { $0.name == "output.weight" }
        return file.tensors.reduce(0) { total, tensor in
            total + (tensor.name == "token_embd.weight" && !tied ? 0 : Int(tensor.byteCount))
        }
    }

    private func seconds(_ d: Duration) -> Double { Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18 }
}
