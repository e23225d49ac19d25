#if canImport(Glibc)
import Glibc
#endif
import Sampling
import Tokenizers

public struct PerplexityResult: Sendable, Codable {
    public var perplexity: Double
    public var chunks: Int
    public var contextLength: Int
    public var scoredTokens: Int
    public var totalTokens: Int
    /// Running perplexity after each chunk, as llama.cpp prints it.
    public var perChunk: [Double]
    public var seconds: Double
}

extension InferenceSession {
    /// Perplexity the way llama.cpp's `llama-perplexity` computes it: the whole text tokenized
    /// once; non-overlapping chunks of `contextLength` tokens, each from an empty cache, its first
    /// token replaced by BOS when the model adds BOS; the second half of each chunk scored
    /// (positions n/2 … n−2 predicting the next token), log-softmax in double.
    public func perplexity(text: String, tokenizer: any Tokenizer, progress: (Int, Int, Double) -> Void = { _, _, _ in }) throws -> PerplexityResult {
        var body = text
        if body.hasSuffix("\n") { body.removeLast() }
        let addBOS = tokenizer.addsBOS
        let tokens = tokenizer.encode(body, addBOS: addBOS, parseSpecialTokens: false)
        let n = contextLength
        let chunks = tokens.count / n
        guard chunks >= 1 else {
            throw ModelError("the text has \(tokens.count) tokens; perplexity with --ctx \(n) needs at least \(n) (one chunk)")
        }
        let first = n / 2
        var negativeLogLikelihood = 0.0
        var scored = 0
        var perChunk: [Double] = []
        let clock = ContinuousClock()
        let start = clock.now
        for chunk in 0..<chunks {
            var window = Array(tokens[(chunk * n)..<((chunk + 1) * n)])
            if addBOS, let bos = tokenizer.bosTokenID { window[0] = bos }
            reset()
            try evaluate(window, scoredIndices: first..<(n - 1)) { index, logits in
                negativeLogLikelihood -= logSoftmax(logits, at: Int(window[index + 1]))
                scored += 1
            }
            perChunk.append(exp(negativeLogLikelihood / Double(scored)))
            progress(chunk + 1, chunks, perChunk.last!)
        }
        return PerplexityResult(perplexity: exp(negativeLogLikelihood / Double(scored)), chunks: chunks, contextLength: n,
                                scoredTokens: scored, totalTokens: tokens.count, perChunk: perChunk,
                                seconds: (clock.now - start).seconds)
    }
}
