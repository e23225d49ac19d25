import Sampling
import Tokenizers

/// The log-probabilities a request asked for at one step, from the model's own distribution:
/// the raw logits, before the sampler's penalties change them.
struct TokenLogprobs {
    private let distribution: LogSoftmax
    private let rawLogits: [Float]
    private let tokenizer: any Tokenizer
    /// The `count` most likely tokens, most likely first.
    let top: [GenerationEvent.TokenLogprob]

    /// Reads `logits` before sampling changes them.
    init(logits: UnsafeMutableBufferPointer<Float>, top count: Int, tokenizer: any Tokenizer) {
        let row = UnsafeBufferPointer(logits)
        let distribution = LogSoftmax(row)
        self.distribution = distribution
        self.tokenizer = tokenizer
        top = topIndices(row, count).map { Self.describe($0, logprob: distribution(row[Int($0)]), tokenizer: tokenizer) }
        rawLogits = Array(row)
    }

    /// The sampled token's entry.
    func chosen(_ token: Int32) -> GenerationEvent.TokenLogprob {
        Self.describe(token, logprob: distribution(rawLogits[Int(token)]), tokenizer: tokenizer)
    }

    private static func describe(_ id: Int32, logprob: Double, tokenizer: any Tokenizer) -> GenerationEvent.TokenLogprob {
        let bytes = tokenizer.decodeBytes(id, special: true)
        return GenerationEvent.TokenLogprob(token: String(decoding: bytes, as: UTF8.self), bytes: bytes, logprob: Float(logprob))
    }
}
