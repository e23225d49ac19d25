#if canImport(Glibc)
import Glibc
#endif

/// A logit row's softmax normalizer, computed once so that any number of entries can be turned
/// into log-probabilities (perplexity scores one target per row; the server reports up to 21).
/// The largest logit is subtracted before exponentiating and the exponentials are summed in
/// double, as llama.cpp's perplexity does: a 50,000-entry float sum would lose the small terms.
public struct LogSoftmax: Sendable {
    public let maxLogit: Float
    /// log Σ exp(logit − maxLogit).
    public let logSumOfShiftedExps: Double

    public init(_ logits: UnsafeBufferPointer<Float>) {
        var maxLogit = -Float.infinity
        for v in logits { maxLogit = max(maxLogit, v) }
        var sum = 0.0
        for v in logits { sum += exp(Double(v - maxLogit)) }
        self.maxLogit = maxLogit
        logSumOfShiftedExps = log(sum)
    }

    /// log softmax of one logit of the row.
    public func callAsFunction(_ logit: Float) -> Double { Double(logit - maxLogit) - logSumOfShiftedExps }

    /// log Σ exp(logit) over the row.
    public var logSumExp: Double { Double(maxLogit) + logSumOfShiftedExps }
}

/// log Σ exp(logits), accumulated in double.
public func logSumExp(_ logits: UnsafeBufferPointer<Float>) -> Double { LogSoftmax(logits).logSumExp }

/// log p(target) under softmax(logits), accumulated in double.
public func logSoftmax(_ logits: UnsafeBufferPointer<Float>, at target: Int) -> Double {
    LogSoftmax(logits)(logits[target])
}

public func logSoftmax(_ logits: [Float], at target: Int) -> Double {
    logits.withUnsafeBufferPointer { logSoftmax($0, at: target) }
}

/// The indices of the `n` largest logits, largest first (ties: the lower index first).
public func topIndices(_ logits: UnsafeBufferPointer<Float>, _ n: Int) -> [Int32] {
    var best: [Int32] = []
    guard n > 0 else { return best }
    for i in 0..<logits.count {
        if best.count < n || logits[i] > logits[Int(best[best.count - 1])] {
            var j = best.count < n ? best.count : best.count - 1
            if best.count < n { best.append(Int32(i)) } else { best[j] = Int32(i) }
            while j > 0, logits[Int(best[j - 1])] < logits[Int(best[j])] { best.swapAt(j - 1, j); j -= 1 }
        }
    }
    return best
}
