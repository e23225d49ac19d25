import Sampling
import Testing

@Suite struct LogitMathTests {
    /// Worked out in double: ln(e¹ + e² + e³) and 1 − that.
    @Test func smallRowAgainstTheClosedForm() {
        let logits: [Float] = [1, 2, 3]
        logits.withUnsafeBufferPointer { row in
            #expect(abs(logSumExp(row) - 3.40760596444438) < 1e-12)
            #expect(abs(logSoftmax(row, at: 0) - -2.40760596444438) < 1e-12)
        }
        #expect(abs(logSoftmax(logits, at: 2) - (3 - 3.40760596444438)) < 1e-12)
    }

    /// exp(1000) overflows even a double: the largest logit must be subtracted first.
    @Test func largeLogitsDoNotOverflow() {
        let logits: [Float] = [1000, 1000]
        logits.withUnsafeBufferPointer { row in
            #expect(abs(logSumExp(row) - 1000.6931471805599) < 1e-9)
            #expect(abs(logSoftmax(row, at: 1) - -0.6931471805599453) < 1e-12)
        }
    }

    /// A vocabulary-sized row with one clear winner: each exp(−20) ≈ 2·10⁻⁹ vanishes when added to
    /// 1 in float, so a float sum would give exactly 0; the double sum gives −ln(1 + 49151·e⁻²⁰),
    /// within the 49151 roundings of about 1.1·10⁻¹⁶ each that adding to 1 costs.
    @Test func smallTermsAreSummedInDouble() {
        var logits = [Float](repeating: -20, count: 49152)
        logits[7] = 0
        #expect(abs(logSoftmax(logits, at: 7) - -0.00010130263041174398) < 1e-11)
        #expect(abs(logSoftmax(logits, at: 8) - (-20 - 0.00010130263041174398)) < 1e-9)
    }

    @Test func oneNormalizerForManyEntries() {
        let logits: [Float] = [0.5, -1.25, 3, 2]
        logits.withUnsafeBufferPointer { row in
            let distribution = LogSoftmax(row)
            #expect(distribution.maxLogit == 3)
            for i in logits.indices { #expect(distribution(logits[i]) == logSoftmax(row, at: i)) }
            #expect(distribution.logSumExp == logSumExp(row))
        }
    }

    @Test func topIndicesLargestFirstLowerIndexOnTies() {
        let logits: [Float] = [0.5, 3, 3, -1, 2]
        logits.withUnsafeBufferPointer { row in
            #expect(topIndices(row, 3) == [1, 2, 4])
            #expect(topIndices(row, 1) == [1])
            #expect(topIndices(row, 0) == [])
            #expect(topIndices(row, 9) == [1, 2, 4, 0, 3])
        }
    }
}
