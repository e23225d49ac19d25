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

/// A mean over scored positions and its standard error, estimated as llama.cpp's perplexity tool
/// does (no error below 11 samples).
public struct MeanEstimate: Sendable, Codable {
    public var value: Double
    public var uncertainty: Double

    public init(value: Double, uncertainty: Double) {
        self.value = value
        self.uncertainty = uncertainty
    }

    /// From a sum of samples and the sum of their squares.
    public init(sum: Double, squares: Double, count: Int) {
        guard count > 0 else {
            self.init(value: 0, uncertainty: 0)
            return
        }
        let mean = sum / Double(count)
        let variance = squares / Double(count) - mean * mean
        self.init(value: mean, uncertainty: variance > 0 && count > 10 ? (variance / Double(count - 1)).squareRoot() : 0)
    }

    /// e^mean with its first-order error: a perplexity from a mean negative log-likelihood.
    public var exponentiated: MeanEstimate { MeanEstimate(value: exp(value), uncertainty: exp(value) * uncertainty) }
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
        let perplexity = MeanEstimate(sum: negativeLogLikelihood, squares: squares, count: scored).exponentiated
        return PerplexityResult(
            perplexity: perplexity.value, uncertainty: perplexity.uncertainty, chunks: chunks, contextLength: n,
            scoredTokens: scored, totalTokens: tokens.count, perChunk: perChunk,
            seconds: (clock.now - start).seconds)
    }

    /// The chunking of llama.cpp's perplexity, written once: chunk c is tokens[c·n ..< (c+1)·n]
    /// from an empty cache, its first token replaced by BOS when the model adds one, and positions
    /// n/2 … n−2 scored, each with the token that follows it. `body` gets (that token, the logits).
    func scorePerplexityChunks(
        _ tokens: [Int32], contextLength n: Int, chunks: Int, bosToken: Int32?,
        _ body: (Int32, UnsafeBufferPointer<Float>) throws -> Void,
        progress: (Int) -> Void
    ) throws {
        for chunk in 0..<chunks {
            var window = Array(tokens[(chunk * n)..<((chunk + 1) * n)])
            if let bos = bosToken { window[0] = bos }
            reset()
            var failure: (any Error)?
            try evaluate(window, scoredIndices: (n / 2)..<(n - 1)) { index, logits in
                guard failure == nil else { return }
                do { try body(window[index + 1], logits) } catch { failure = error }
            }
            if let failure { throw failure }
            progress(chunk + 1)
        }
    }
}
