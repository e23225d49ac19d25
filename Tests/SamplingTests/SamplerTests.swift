import Sampling
import Testing

@Suite struct SamplerTests {
    func sample(_ logits: [Float], _ p: SamplingParameters, history: [Int32] = []) -> Int32 {
        var sampler = Sampler(p)
        for id in history { sampler.accept(id) }
        var copy = logits
        return copy.withUnsafeMutableBufferPointer { sampler.sample($0) }
    }

    @Test func greedyPicksTheLargestLogit() {
        #expect(sample([0.1, 3, -2, 2.9], .greedy) == 1)
        var topOne = SamplingParameters()
        topOne.topK = 1
        #expect(sample([0.1, 3, -2, 2.9], topOne) == 1)
    }

    @Test func sameSeedSameTokensDifferentSeedDifferentTokens() {
        var p = SamplingParameters()
        p.temperature = 1.5
        p.topK = 0
        p.topP = 1
        p.minP = 0
        let logits: [Float] = (0..<100).map { Float($0 % 7) * 0.3 }
        func run(seed: UInt64) -> [Int32] {
            p.seed = seed
            var sampler = Sampler(p)
            return (0..<50).map { _ in
                var l = logits; return l.withUnsafeMutableBufferPointer { sampler.sample($0) }
            }
        }
        #expect(run(seed: 7) == run(seed: 7))
        #expect(run(seed: 7) != run(seed: 8))
    }

    @Test func topPKeepsOnlyTheNucleus() {
        // Probabilities 0.5, 0.3, 0.15, 0.05: top-p 0.75 keeps the first two (0.5 + 0.3 ≥ 0.75).
        let logits: [Float] = [0.5, 0.3, 0.15, 0.05].map { logf($0) }
        var p = SamplingParameters()
        p.temperature = 1
        p.topK = 0
        p.topP = 0.75
        p.minP = 0
        var seen = Set<Int32>()
        for seed in 0..<400 {
            p.seed = UInt64(seed)
            seen.insert(sample(logits, p))
        }
        #expect(seen == [0, 1])
    }

    @Test func minPDropsUnlikelyTokens() {
        // min-p 0.4 of the top probability 0.5 → threshold 0.2: keeps 0.5 and 0.3 only.
        let logits: [Float] = [0.5, 0.3, 0.15, 0.05].map { logf($0) }
        var p = SamplingParameters()
        p.temperature = 1
        p.topK = 0
        p.topP = 1
        p.minP = 0.4
        var seen = Set<Int32>()
        for seed in 0..<400 {
            p.seed = UInt64(seed)
            seen.insert(sample(logits, p))
        }
        #expect(seen == [0, 1])
    }

    @Test func topKLimitsCandidates() {
        let logits: [Float] = (0..<1000).map { Float($0) / 1000 }
        var p = SamplingParameters()
        p.temperature = 100  // nearly uniform
        p.topK = 3
        p.topP = 1
        p.minP = 0
        var seen = Set<Int32>()
        for seed in 0..<300 {
            p.seed = UInt64(seed)
            seen.insert(sample(logits, p))
        }
        #expect(seen == [997, 998, 999])
    }

    @Test func drawFrequenciesFollowTheDistribution() {
        // Hand-computed: softmax([ln 0.7, ln 0.3]) = [0.7, 0.3]; 4000 draws within ±3.5σ (σ ≈ 29).
        var p = SamplingParameters()
        p.temperature = 1
        p.topK = 0
        p.topP = 1
        p.minP = 0
        p.seed = 1
        var sampler = Sampler(p)
        var zeros = 0
        for _ in 0..<4000 {
            var l: [Float] = [logf(0.7), logf(0.3)]
            if l.withUnsafeMutableBufferPointer({ sampler.sample($0) }) == 0 { zeros += 1 }
        }
        #expect(abs(zeros - 2800) < 100)
    }

    @Test func repetitionPenaltyIsCTRLStyle() {
        // Token 0 (logit 2.0) seen: 2.0 / 2 = 1.0 < 1.5, so token 1 wins under greedy.
        var p = SamplingParameters.greedy
        p.repetitionPenalty = 2
        #expect(sample([2.0, 1.5], p, history: [0]) == 1)
        // A negative logit is multiplied: -1 × 2 = -2 < -1.5.
        #expect(sample([-1.0, -1.5], p, history: [0]) == 1)
        #expect(sample([2.0, 1.5], p, history: []) == 0)
    }

    @Test func frequencyAndPresencePenalties() {
        // Token 0 seen 3 times: 2.0 − 3×0.2 − 0.5 = 0.9 < 1.0.
        var p = SamplingParameters.greedy
        p.frequencyPenalty = 0.2
        p.presencePenalty = 0.5
        #expect(sample([2.0, 1.0], p, history: [0, 0, 0]) == 1)
        p.presencePenalty = 0.3  // 2.0 − 0.6 − 0.3 = 1.1 > 1.0
        #expect(sample([2.0, 1.0], p, history: [0, 0, 0]) == 0)
    }

    @Test func invalidValuesAreNamed() {
        var p = SamplingParameters()
        p.temperature = -1
        #expect(throws: SamplingError(option: "temperature", value: "-1.0", expected: "a finite number ≥ 0")) { try p.validate() }
        p = SamplingParameters()
        p.topP = 0
        #expect(throws: SamplingError.self) { try p.validate() }
        p = SamplingParameters()
        p.topK = -3
        #expect(throws: SamplingError.self) { try p.validate() }
        p = SamplingParameters()
        p.minP = 1.5
        #expect(throws: SamplingError.self) { try p.validate() }
        #expect(throws: Never.self) { try SamplingParameters().validate() }
    }
}

#if canImport(Glibc)
import Glibc
#endif
