import ArgumentParser
import Sampling

#if canImport(Glibc)
import Glibc
#endif

/// Sampling flags shared by `run` and `chat` (llama.cpp's names and defaults).
struct SamplingOptions: ParsableArguments {
    @Option(name: .customLong("temp"), help: "Temperature; 0 is greedy.")
    var temperature: Float = 0.8
    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0 = off).")
    var topK: Int = 40
    @Option(name: .customLong("top-p"), help: "Keep the smallest set whose probability reaches p (1 = off).")
    var topP: Float = 0.95
    @Option(name: .customLong("min-p"), help: "Drop tokens less likely than min-p × the most likely (0 = off).")
    var minP: Float = 0.05
    @Option(name: .customLong("repeat-penalty"), help: "Penalise repeated tokens (1 = off).")
    var repetitionPenalty: Float = 1
    @Option(name: .customLong("repeat-last-n"), help: "Tokens the penalties look back over.")
    var penaltyWindow: Int = 64
    @Option(name: .customLong("frequency-penalty"), help: "Subtract this × the token's count so far.")
    var frequencyPenalty: Float = 0
    @Option(name: .customLong("presence-penalty"), help: "Subtract this from tokens already present.")
    var presencePenalty: Float = 0
    @Option(name: .customLong("seed"), help: "Random seed; the same seed gives the same text (default: random, printed in the stats).")
    var seed: UInt64?

    func validate() throws { try parameters.validate() }

    /// The parameters, with a random seed when none was given.
    var parameters: SamplingParameters {
        var p = SamplingParameters()
        p.temperature = temperature
        p.topK = topK
        p.topP = topP
        p.minP = minP
        p.repetitionPenalty = repetitionPenalty
        p.penaltyWindow = penaltyWindow
        p.frequencyPenalty = frequencyPenalty
        p.presencePenalty = presencePenalty
        p.seed = seed ?? UInt64(truncatingIfNeeded: ContinuousClock.now.hashValue) ^ UInt64(getpid())
        return p
    }
}
