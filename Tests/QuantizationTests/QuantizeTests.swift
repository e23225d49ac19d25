import GGUF
import Quantization
import Testing

@Suite struct QuantizeTests {
    struct Case: Decodable { let type: String, input: [UInt32], hex: String }
    static let cases: [Case] = (try? Fixture.decode("quantize.json", as: [Case].self)) ?? []

    @Test func fixtureHasTheReferenceQuantizers() {
        #expect(Set(Self.cases.map(\.type)) == ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "BF16", "F16"])
    }

    @Test(arguments: cases)
    func bytesMatchGGUFPyQuantize(_ c: Case) {
        let type = ggmlType(named: c.type)
        let ours = quantized(type, c.input.map(Float.init(bitPattern:)))
        let expected = bytes(hex: c.hex)
        let firstDiff = zip(ours, expected).enumerated().first { $0.element.0 != $0.element.1 }?.offset
        #expect(
            ours == expected,
            "\(c.type): first differing byte \(firstDiff.map(String.init) ?? "none") (block \(firstDiff.map { $0 / type.typeSize } ?? -1))")
    }

    /// The error each format guarantees, per element, for the value it came from.
    /// fp16 rounding of a stored scale d moves a code q's value by at most |q|*|d|*2^-11 (and a stored
    /// min by |min|*2^-11); those terms are added where a format stores fp16 scales.
    static let halfULP: Float = 1.0 / 2048

    @Test(arguments: ["Q4_0", "Q5_0", "Q4_1", "Q5_1", "Q8_0", "Q8_1", "Q8_K"])
    func legacyRoundTripWithinHalfStep(_ name: String) {
        let type = ggmlType(named: name)
        let x = randomFloats(type.blockSize * 40, seed: 7 &+ UInt64(type.rawValue), blockSize: type.blockSize)
        let y = dequantized(type, quantized(type, x), count: x.count)
        var worst: Float = 0
        for b in 0..<(x.count / type.blockSize) {
            let block = x[(b * type.blockSize)..<((b + 1) * type.blockSize)]
            let amax = block.map(abs).max()!
            let lo = block.min()!, hi = block.max()!
            for i in block.indices {
                let err = abs(x[i] - y[i])
                let bound: Float
                switch name {
                case "Q4_0", "Q5_0":
                    // d = (signed extreme)/-half: the extreme maps exactly to the lowest code; the opposite
                    // extreme can round one past the top code and is clamped, costing up to one step.
                    let half: Float = name == "Q4_0" ? 8 : 16
                    let d = amax / half
                    let clamped = abs(x[i] / d) > half - 1.5
                    bound = (clamped ? d : d / 2) + half * d * Self.halfULP
                case "Q4_1", "Q5_1":
                    // d = (max-min)/(levels-1), m = min: every value is within half a step of the grid.
                    let levels: Float = name == "Q4_1" ? 15 : 31
                    let d = (hi - lo) / levels
                    bound = d / 2 + levels * d * Self.halfULP + abs(lo) * Self.halfULP
                case "Q8_K":
                    // f32 d = max/-127, round to nearest: half a step.
                    bound = amax / 127 / 2 * 1.0001
                default:
                    // Q8_0/Q8_1: d = amax/127 stored as fp16, round half away from zero.
                    let d = amax / 127
                    bound = d / 2 + 127 * d * Self.halfULP
                }
                worst = max(worst, err / max(bound, .leastNormalMagnitude))
                #expect(err <= bound * 1.0001 + 1e-30, "\(name) element \(i): x=\(x[i]) y=\(y[i]) err \(err) > bound \(bound)")
                if err > bound * 1.0001 + 1e-30 { return }
            }
        }
        #expect(worst > 0.3, "errors implausibly small: \(worst) of the bound")
    }

    @Test(arguments: ["Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K"])
    func kQuantRoundTripWithinBound(_ name: String) {
        let type = ggmlType(named: name)
        let x = randomFloats(256 * 24, seed: 99 &+ UInt64(type.rawValue), blockSize: 64)
        let y = dequantized(type, quantized(type, x), count: x.count)
        // (sub-block size, scale bits max S, codes: max L for min-max types / offset for signed types)
        let (sub, S, L, signed): (Int, Float, Float, Bool) =
            switch name {
            case "Q2_K": (16, 15, 3, false)
            case "Q3_K": (16, 31, 4, true)
            case "Q4_K": (32, 63, 15, false)
            case "Q5_K": (32, 63, 31, false)
            default: (16, 127, 32, true)
            }
        var worst: Float = 0
        for b in 0..<(x.count / 256) {
            let superBlock = Array(x[(b * 256)..<((b + 1) * 256)])
            let A = superBlock.map(abs).max()!
            let R = stride(from: 0, to: 256, by: sub).map { j in
                max(0, superBlock[j..<j + sub].max()!) - min(0, superBlock[j..<j + sub].min()!)
            }.max()!
            for j in stride(from: 0, to: 256, by: sub) {
                let part = superBlock[j..<j + sub]
                let bound: Float
                if signed {
                    // Sub-scale amax_j/offset, itself quantized to d = A/(offset*S) with d rounded up:
                    // half a step, or a clamped extreme, plus at most offset*d/2 of scale error.
                    bound = part.map(abs).max()! / L + A / S + 1e-6 * A
                } else {
                    // Half a sub-block step range_j/L, widened because scale and min are rounded up to
                    // multiples of d and dmin (each <= R/(L*S) after fp16 rounding up).
                    let range = max(0, part.max()!) - min(0, part.min()!)
                    bound = 0.5 * range / L + 1.05 * R / (L * S) + 1e-6 * R
                }
                for i in part.indices {
                    let e = b * 256 + i
                    let err = abs(x[e] - y[e])
                    worst = max(worst, err / bound)
                    #expect(err <= bound, "\(name) element \(e): x=\(x[e]) y=\(y[e]) err \(err) > bound \(bound)")
                    if err > bound { return }
                }
            }
        }
        #expect(worst > 0.2, "errors implausibly small: \(worst) of the bound")
    }

    @Test func zeroInputQuantizesToZero() {
        for type in Quantization.supportedWeightTypes + [.q8_1, .q8_K] {
            let n = type.blockSize * 2
            let y = dequantized(type, quantized(type, [Float](repeating: 0, count: n)), count: n)
            #expect(y.allSatisfy { $0 == 0 }, "\(type)")
        }
    }
}

extension QuantizeTests.Case: CustomTestStringConvertible {
    var testDescription: String { type }
}
