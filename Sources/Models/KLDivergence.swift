import Sampling

#if canImport(Glibc)
import Glibc
#endif

/// How far a model's next-token distributions are from a base run's (`--kl-divergence`), with the
/// statistics llama.cpp's perplexity tool prints, so numbers from either tool compare directly.
public struct KLDivergenceResult: Sendable, Codable {
    public var contextLength: Int
    public var chunks: Int
    /// Scored positions.
    public var positions: Int
    public var perplexity: MeanEstimate
    public var basePerplexity: MeanEstimate
    /// Mean of ln(p_base(target)) − ln(p(target)) over positions: ln(PPL/PPL_base).
    public var logPerplexityRatio: MeanEstimate
    public var meanKLD: MeanEstimate
    /// KLD percentiles by name: "maximum", "99.9", "99.0", "95.0", "90.0", "median", "10.0", "5.0", "1.0", "0.1", "minimum".
    public var kldPercentiles: [String: Double]
    /// p(target) − p_base(target).
    public var meanProbabilityDifference: MeanEstimate
    public var rmsProbabilityDifference: MeanEstimate
    public var maximumProbabilityDifference: Double
    /// Positions whose most likely token is the base's, as a fraction.
    public var sameTop: MeanEstimate
    public var seconds: Double

    public static let percentileNames: [(String, Double)] = [
        ("maximum", 1), ("99.9", 0.999), ("99.0", 0.99), ("95.0", 0.95), ("90.0", 0.9), ("median", 0.5),
        ("10.0", 0.1), ("5.0", 0.05), ("1.0", 0.01), ("0.1", 0.001), ("minimum", 0),
    ]
}

/// Sums over scored positions, compared with a base's 16-bit log-probabilities the way llama.cpp
/// does (base terms below −16 nats are left out of the KL sum; the record cannot hold them).
public struct DivergenceStatistics {
    var count = 0
    var nll = 0.0, nll2 = 0.0, nllBase = 0.0, nllBase2 = 0.0, nllProduct = 0.0
    var kld = 0.0, kld2 = 0.0
    var pDiff = 0.0, pDiff2 = 0.0, pDiff4 = 0.0, maxPDiff = 0.0
    var sameTop = 0
    var klds: [Double] = []

    public init() {}

    public mutating func add(_ logits: UnsafeBufferPointer<Float>, base: BaseLogProbabilities, target: Int) {
        let distribution = LogSoftmax(logits)
        let top = Int(Sampler.argmax(logits))
        let logNormalizer = distribution.logSumExp
        let nll = logNormalizer - Double(logits[target])
        let nllBase = -Double(base.logProbability(target))
        var sum = 0.0
        var baseTop = 0
        var baseTopValue = -Float.infinity
        for i in 0..<logits.count {
            let logBase = base.logProbability(i)
            if logBase > baseTopValue { baseTopValue = logBase; baseTop = i }
            if logBase > -16 {
                let l = Double(logBase)
                sum += exp(l) * (l - (Double(logits[i]) - logNormalizer))
            }
        }
        count += 1
        self.nll += nll; nll2 += nll * nll
        self.nllBase += nllBase; nllBase2 += nllBase * nllBase
        nllProduct += nll * nllBase
        kld += sum; kld2 += sum * sum
        klds.append(sum)
        if top == baseTop { sameTop += 1 }
        let d = exp(-nll) - exp(-nllBase)
        pDiff += d; pDiff2 += d * d; pDiff4 += d * d * d * d
        maxPDiff = max(maxPDiff, abs(d))
    }

    /// Linear interpolation between order statistics, as llama.cpp computes its percentiles.
    static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        if fraction <= 0 { return sorted.first! }
        if fraction >= 1 { return sorted.last! }
        let p = fraction * Double(sorted.count - 1)
        let i = Int(p), f = p - Double(i)
        return (1 - f) * sorted[i] + f * sorted[min(i + 1, sorted.count - 1)]
    }

    public func result(contextLength: Int, chunks: Int, seconds: Double) -> KLDivergenceResult {
        let logPPL = MeanEstimate(sum: nll, squares: nll2, count: count),
            logBase = MeanEstimate(sum: nllBase, squares: nllBase2, count: count)
        let covariance = count < 10 ? 0 : (nllProduct / Double(count) - logPPL.value * logBase.value) / Double(count - 1)
        let ratioUncertainty = max(0, logPPL.uncertainty * logPPL.uncertainty + logBase.uncertainty * logBase.uncertainty - 2 * covariance)
            .squareRoot()
        let sorted = klds.sorted()
        var percentiles: [String: Double] = [:]
        if !sorted.isEmpty {
            for (name, fraction) in KLDivergenceResult.percentileNames {
                percentiles[name] =
                    name == "median"
                    ? (sorted.count % 2 == 0 ? 0.5 * (sorted[sorted.count / 2] + sorted[sorted.count / 2 - 1]) : sorted[sorted.count / 2])
                    : Self.percentile(sorted, fraction)
            }
        }
        let meanSquare = MeanEstimate(sum: pDiff2, squares: pDiff4, count: count)
        let rms = meanSquare.value.squareRoot()
        let top = count > 0 ? Double(sameTop) / Double(count) : 0
        return KLDivergenceResult(
            contextLength: contextLength, chunks: chunks, positions: count,
            perplexity: logPPL.exponentiated,
            basePerplexity: logBase.exponentiated,
            logPerplexityRatio: .init(value: logPPL.value - logBase.value, uncertainty: ratioUncertainty),
            meanKLD: MeanEstimate(sum: kld, squares: kld2, count: count), kldPercentiles: percentiles,
            meanProbabilityDifference: MeanEstimate(sum: pDiff, squares: pDiff2, count: count),
            rmsProbabilityDifference: .init(value: rms, uncertainty: rms > 0 ? 0.5 / rms * meanSquare.uncertainty : 0),
            maximumProbabilityDifference: maxPDiff,
            sameTop: .init(value: top, uncertainty: count > 1 ? (top * (1 - top) / Double(count - 1)).squareRoot() : 0),
            seconds: seconds)
    }
}

extension InferenceSession {
    /// The KL divergence of this model's next-token distributions from a base file's, over the
    /// file's own tokens and chunks (llama.cpp's `--kl-divergence`). The session's context must
    /// hold one chunk.
    public func klDivergence(
        base: LogProbabilityFile.Reader, bosToken: Int32?,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws -> KLDivergenceResult {
        guard base.vocabularySize == vocabularySize else {
            throw ModelError("\(base.path): made with a vocabulary of \(base.vocabularySize) tokens; this model has \(vocabularySize)")
        }
        guard contextLength >= base.contextLength else {
            throw ModelError("\(base.path): made with chunks of \(base.contextLength) tokens; the context holds \(contextLength)")
        }
        if let bad = base.tokens.first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw ModelError("\(base.path): token id \(bad) is outside the vocabulary (0…\(vocabularySize - 1))")
        }
        var statistics = DivergenceStatistics()
        let clock = ContinuousClock()
        let start = clock.now
        try scorePerplexityChunks(base.tokens, contextLength: base.contextLength, chunks: base.chunks, bosToken: bosToken) {
            target, logits in
            statistics.add(logits, base: try base.next(), target: Int(target))
        } progress: { chunk in
            progress(chunk, base.chunks)
        }
        return statistics.result(contextLength: base.contextLength, chunks: base.chunks, seconds: (clock.now - start).seconds)
    }
}
