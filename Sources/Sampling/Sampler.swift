#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif
/// Picks tokens from logits: penalties, then greedy or the chain temperature → top-k → top-p →
/// min-p → a seeded draw. The same seed and inputs give the same tokens.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var random: SplitMix64
    private var recent: [Int32] = []
    // Reused between calls so sampling allocates nothing per token after the first.
    private var candidates: [Candidate] = []

    struct Candidate {
        var id: Int32
        var logit: Float
    }

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        random = SplitMix64(seed: parameters.seed)
    }

    /// Records tokens that the penalties should see (the prompt, then each sampled token).
    public mutating func accept(_ id: Int32) {
        guard parameters.penaltyWindow > 0 else { return }
        recent.append(id)
        if recent.count > parameters.penaltyWindow { recent.removeFirst(recent.count - parameters.penaltyWindow) }
    }

    public mutating func sample(_ logits: UnsafeMutableBufferPointer<Float>) -> Int32 {
        applyPenalties(logits)
        let id = parameters.isGreedy ? Sampler.argmax(logits) : draw(logits)
        accept(id)
        return id
    }

    /// The first index of the largest logit. On x86-64, blocks of 32 are reduced to their maximum
    /// with vector instructions and scanned only when it beats the best so far, so a 49,152-entry
    /// row costs ~1,500 vector reductions instead of a branch per entry.
    public static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        var bestValue = -Float.infinity
        var i = 0
        #if arch(x86_64)
        if let base = logits.baseAddress {
            while i + 32 <= logits.count {
                let p = base + i
                let m = _mm256_max_ps(
                    _mm256_max_ps(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)),
                    _mm256_max_ps(_mm256_loadu_ps(p + 16), _mm256_loadu_ps(p + 24)))
                let four = _mm_max_ps(m.lowHalf, m.highHalf)
                let two = _mm_max_ps(four, _mm_movehl_ps(four, four))
                // A NaN can hide the block's largest value from maxps: such a block is scanned too.
                let top = _mm_cvtss_f32(_mm_max_ps(two, _mm_movehdup_ps(two)))
                if top > bestValue || top.isNaN {
                    for j in i..<(i + 32) where logits[j] > bestValue {
                        bestValue = logits[j]
                        best = j
                    }
                }
                i += 32
            }
        }
        #endif
        for j in i..<logits.count where logits[j] > bestValue {
            bestValue = logits[j]
            best = j
        }
        return Int32(best)
    }

    static func argmax(_ logits: UnsafeMutableBufferPointer<Float>) -> Int32 { argmax(UnsafeBufferPointer(logits)) }

    public static func argmax(_ logits: [Float]) -> Int32 { logits.withUnsafeBufferPointer { argmax($0) } }

    private func applyPenalties(_ logits: UnsafeMutableBufferPointer<Float>) {
        let p = parameters
        guard !recent.isEmpty, p.repetitionPenalty != 1 || p.frequencyPenalty != 0 || p.presencePenalty != 0 else { return }
        var counts: [Int32: Int] = [:]
        for id in recent where id >= 0 && Int(id) < logits.count { counts[id, default: 0] += 1 }
        for (id, count) in counts {
            var logit = logits[Int(id)]
            if p.repetitionPenalty != 1 {
                logit = logit > 0 ? logit / p.repetitionPenalty : logit * p.repetitionPenalty
            }
            logit -= Float(count) * p.frequencyPenalty + (count > 0 ? p.presencePenalty : 0)
            logits[Int(id)] = logit
        }
    }

    private mutating func draw(_ logits: UnsafeMutableBufferPointer<Float>) -> Int32 {
        let p = parameters
        candidates.removeAll(keepingCapacity: true)
        for i in 0..<logits.count { candidates.append(Candidate(id: Int32(i), logit: logits[i] / p.temperature)) }

        // Top-k first: it bounds the sort that top-p needs.
        let k = p.topK > 0 ? min(p.topK, candidates.count) : candidates.count
        Sampler.keepLargest(&candidates, k)

        // Softmax over the survivors, in descending order.
        let maxLogit = candidates[0].logit
        var probabilities = candidates.map { expf($0.logit - maxLogit) }
        var total = probabilities.reduce(0, +)
        for i in probabilities.indices { probabilities[i] /= total }

        var keep = probabilities.count
        if p.topP < 1 {
            var cumulative: Float = 0
            for i in probabilities.indices {
                cumulative += probabilities[i]
                if cumulative >= p.topP { keep = i + 1; break }
            }
        }
        if p.minP > 0 {
            let threshold = probabilities[0] * p.minP
            var i = 1
            while i < keep && probabilities[i] >= threshold { i += 1 }
            keep = i
        }
        total = probabilities[0..<keep].reduce(0, +)
        var target = Float(random.nextUnit()) * total
        for i in 0..<keep {
            target -= probabilities[i]
            if target <= 0 { return candidates[i].id }
        }
        return candidates[keep - 1].id
    }

    /// Leaves the `k` largest logits first, sorted descending (ties: lower id first).
    static func keepLargest(_ candidates: inout [Candidate], _ k: Int) {
        let ordered: (Candidate, Candidate) -> Bool = { $0.logit != $1.logit ? $0.logit > $1.logit : $0.id < $1.id }
        if k < candidates.count / 4 {
            // Partial selection: one pass keeping a sorted top-k list is far cheaper than a full sort of 50k+ logits.
            var top: [Candidate] = []
            top.reserveCapacity(k + 1)
            for c in candidates {
                if top.count == k, let last = top.last, !ordered(c, last) { continue }
                var lo = 0, hi = top.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    if ordered(top[mid], c) { lo = mid + 1 } else { hi = mid }
                }
                top.insert(c, at: lo)
                if top.count > k { top.removeLast() }
            }
            candidates = top
        } else {
            candidates.sort(by: ordered)
            candidates.removeLast(candidates.count - k)
        }
    }
}

/// A small, fast, seedable generator (Steele, Lea & Flood 2014), so that a seed reproduces
/// the same tokens on every platform.
struct SplitMix64: Sendable {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [0, 1) with 53 bits.
    mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
