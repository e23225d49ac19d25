import Sampling
import Tokenizers

#if canImport(Glibc)
import Glibc
#endif

public struct PerplexityResult: Sendable, Codable {
    public var perplexity: Double
    /// Standard error of the perplexity estimate, as llama.cpp prints it after "±".
    public var uncertainty: Double
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
    /// once, then `scorePerplexityChunks` (non-overlapping chunks of `contextLength` tokens, the
    /// second half of each scored), log-softmax in double. With `saveLogProbabilities`, every scored
    /// position's distribution also goes into llama.cpp's `--kl-divergence-base` file at that path.
    public func perplexity(
        text: String, tokenizer: any Tokenizer, saveLogProbabilities path: String? = nil,
        progress: (Int, Int, Double) -> Void = { _, _, _ in }
    ) throws -> PerplexityResult {
        var body = text
        if body.hasSuffix("\n") { body.removeLast() }
        let tokens = tokenizer.encode(body, addBOS: tokenizer.addsBOS, parseSpecialTokens: false)
        let n = contextLength
        let chunks = tokens.count / n
        guard chunks >= 1 else {
            throw ModelError("the text has \(tokens.count) tokens; perplexity with --ctx \(n) needs at least \(n) (one chunk)")
        }
        let writer = try path.map {
            try LogProbabilityFile.Writer(
                path: $0, contextLength: n, vocabularySize: vocabularySize, chunks: chunks, tokens: tokens[0..<(chunks * n)])
        }
        var negativeLogLikelihood = 0.0, squares = 0.0
        var scored = 0
        var perChunk: [Double] = []
        let clock = ContinuousClock()
        let start = clock.now
        try scorePerplexityChunks(tokens, contextLength: n, chunks: chunks, bosToken: tokenizer.addsBOS ? tokenizer.bosTokenID : nil) {
            target, logits in
            let nll = -logSoftmax(logits, at: Int(target))
            negativeLogLikelihood += nll
            squares += nll * nll
            scored += 1
            try writer?.append(logits)
        } progress: { chunk in
            perChunk.append(exp(negativeLogLikelihood / Double(scored)))
            progress(chunk, chunks, perChunk.last!)
        }
        try writer?.finish()
        let mean = negativeLogLikelihood / Double(scored)
        let variance = squares / Double(scored) - mean * mean
        let standardError = variance > 0 && scored > 10 ? (variance / Double(scored - 1)).squareRoot() : 0
        return PerplexityResult(
            perplexity: exp(mean), uncertainty: exp(mean) * standardError, chunks: chunks, contextLength: n,
            scoredTokens: scored, totalTokens: tokens.count, perChunk: perChunk,
            seconds: (clock.now - start).seconds)
    }
}
