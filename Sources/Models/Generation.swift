import Sampling
import Tokenizers

/// Timings of one generation, for the stats line.
public struct GenerationStats: Sendable {
    public var promptTokens = 0
    public var generatedTokens = 0
    public var promptSeconds = 0.0
    public var generationSeconds = 0.0
    public var stoppedAtEndOfGeneration = false

    public var promptTokensPerSecond: Double { promptSeconds > 0 ? Double(promptTokens) / promptSeconds : 0 }
    public var generationTokensPerSecond: Double { generationSeconds > 0 ? Double(generatedTokens) / generationSeconds : 0 }
}

extension InferenceSession {
    /// Evaluates the prompt, then samples up to `maxTokens` tokens, handing each to `onToken`
    /// (return false to stop). Stops early at an end-of-generation token, which is not passed on.
    public func generate(
        prompt: [Int32], maxTokens: Int, sampler: inout Sampler, tokenizer: any Tokenizer,
        onToken: (Int32) -> Bool
    ) throws -> GenerationStats {
        var stats = GenerationStats()
        guard !prompt.isEmpty else { throw ModelError("the prompt is empty: nothing to continue from") }
        guard prompt.count < remainingContext else {
            throw ModelError(
                "the prompt has \(prompt.count) tokens but the context holds \(contextLength) (\(remainingContext) free); use a larger --ctx or a shorter prompt"
            )
        }
        let clock = ContinuousClock()
        for id in prompt { sampler.accept(id) }
        var start = clock.now
        try evaluate(prompt) { _, _ in }
        var logits = lastLogits
        stats.promptTokens = prompt.count
        stats.promptSeconds = (clock.now - start).seconds

        start = clock.now
        defer { stats.generationSeconds = (clock.now - start).seconds }
        let budget = min(maxTokens, remainingContext + 1)
        for step in 0..<budget {
            let token = sampler.sample(logits)
            if tokenizer.isEndOfGeneration(token) {
                stats.stoppedAtEndOfGeneration = true
                break
            }
            stats.generatedTokens += 1
            guard onToken(token), step + 1 < budget else { break }
            try evaluate([token]) { _, _ in }
            logits = lastLogits
        }
        stats.generationSeconds = (clock.now - start).seconds
        return stats
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
