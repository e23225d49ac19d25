import ArgumentParser
import Sampling

#if canImport(Glibc)
import Glibc
#endif

/// Sampling flags shared by `run` and `chat` (llama.cpp's names, defaults and meanings: a negative
/// temperature is greedy, a negative seed is a random one). Numeric options take negative values
/// (`--seed -1`), so every one of them parses its next argument as its value.
struct SamplingOptions: ParsableArguments {
    @Option(name: .customLong("temp"), parsing: .unconditional, help: "Temperature; 0 (or below) is greedy.")
    var temperature: Float = 0.8
    @Option(name: .customLong("top-k"), parsing: .unconditional, help: "Keep the k most likely tokens (0 = off).")
    var topK: Int = 40
    @Option(name: .customLong("top-p"), parsing: .unconditional, help: "Keep the smallest set whose probability reaches p (1 = off).")
    var topP: Float = 0.95
    @Option(name: .customLong("min-p"), parsing: .unconditional, help: "Drop tokens less likely than min-p × the most likely (0 = off).")
    var minP: Float = 0.05
    @Option(name: .customLong("repeat-penalty"), parsing: .unconditional, help: "Penalise repeated tokens (1 = off).")
    var repetitionPenalty: Float = 1
    @Option(name: .customLong("repeat-last-n"), parsing: .unconditional, help: "Tokens the penalties look back over.")
    var penaltyWindow: Int = 64
    @Option(name: .customLong("frequency-penalty"), parsing: .unconditional, help: "Subtract this × the token's count so far.")
    var frequencyPenalty: Float = 0
    @Option(name: .customLong("presence-penalty"), parsing: .unconditional, help: "Subtract this from tokens already present.")
    var presencePenalty: Float = 0
    @Option(
        name: .customLong("seed"), parsing: .unconditional,
        help: "Random seed; the same seed gives the same text (default or -1: random, printed in the stats).")
    var seed: Int64?

    func validate() throws {
        if let seed, seed < -1 { throw ValidationError("--seed \(seed): expected ≥ 0, or -1 for a random seed") }
        do {
            try parameters.validate()
        } catch let error as SamplingError {
            // The library names the field ("temperature"); the user typed the flag.
            let flag = error.option == "temperature" ? "temp" : error.option
            throw ValidationError("--\(flag) \(error.value): expected \(error.expected)")
        }
    }

    /// The parameters, with a random seed when none was given.
    var parameters: SamplingParameters {
        var p = SamplingParameters()
        p.temperature = temperature < 0 ? 0 : temperature  // NaN stays NaN and fails validation
        p.topK = topK
        p.topP = topP
        p.minP = minP
        p.repetitionPenalty = repetitionPenalty
        p.penaltyWindow = penaltyWindow
        p.frequencyPenalty = frequencyPenalty
        p.presencePenalty = presencePenalty
        if let seed, seed >= 0 {
            p.seed = UInt64(seed)
        } else {
            p.seed = UInt64(truncatingIfNeeded: ContinuousClock.now.hashValue) ^ UInt64(getpid())
        }
        return p
    }
}
