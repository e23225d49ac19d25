import GGUF
import Quantization
import Testing

@Suite struct ActivationQuantizationTests {
    static func activations(_ x: [Float], for weight: GGMLType) -> [UInt8] {
        var out = [UInt8](repeating: 0xAA, count: Quantization.activationRowBytes(for: weight, count: x.count))
        x.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBytes { Quantization.quantizeActivations(src.baseAddress!, count: x.count, for: weight, into: $0.baseAddress!) }
        }
        return out
    }

    @Test func activationTypesFollowGGMLVecDotTypes() {
        for t in [GGMLType.q4_0, .q5_0, .q8_0] { #expect(Quantization.activationType(for: t) == .q8_0) }
        for t in [GGMLType.q4_1, .q5_1] { #expect(Quantization.activationType(for: t) == .q8_1) }
        for t in [GGMLType.q2_K, .q3_K, .q4_K, .q5_K, .q6_K] { #expect(Quantization.activationType(for: t) == .q8_K) }
        for t in [GGMLType.f32, .f16, .bf16] { #expect(Quantization.activationType(for: t) == .f32) }
        #expect(Quantization.activationRowBytes(for: .q4_0, count: 64) == 68)
        #expect(Quantization.activationRowBytes(for: .q4_1, count: 64) == 72)
        #expect(Quantization.activationRowBytes(for: .q6_K, count: 512) == 584)
        #expect(Quantization.activationRowBytes(for: .bf16, count: 10) == 40)
    }

    @Test func floatActivationsAreCopied() {
        let x = randomFloats(19, seed: 3)
        let raw = Self.activations(x, for: .f16)
        #expect(raw.count == 76)
        #expect(dequantized(.f32, raw, count: 19).map(\.bitPattern) == x.map(\.bitPattern))
    }

    /// Q8_0 and Q8_1: |x - d16*q| <= d/2 + 127*|d - d16|, with d = amax/127 and d16 its fp16.
    @Test(arguments: [GGMLType.q4_0, .q4_1])
    func q8BlocksWithinHalfStep(_ weight: GGMLType) {
        let x = randomFloats(32 * 30, seed: 11)
        let raw = Self.activations(x, for: weight)
        let aType = Quantization.activationType(for: weight)
        #expect(raw == quantized(aType, x), "activation quantizer must equal the reference quantizer")
        let y = dequantized(aType, raw, count: x.count)
        let qs = aType == .q8_1 ? 4 : 2
        for b in 0..<30 {
            let amax = x[(32 * b)..<(32 * b + 32)].map(abs).max()!
            let d = amax / 127
            let d16 = Float(Float16(d))
            var sum = 0
            for e in 0..<32 {
                let i = 32 * b + e
                let q = Int(Int8(bitPattern: raw[b * aType.typeSize + qs + e]))
                #expect(abs(q) <= 127)
                sum += q
                #expect(abs(x[i] - y[i]) <= d / 2 + 127 * abs(d - d16) + 1e-30, "block \(b) element \(e)")
            }
            if aType == .q8_1 {
                // s = fp16(d * sum(q)) with the unrounded d: the Q4_1/Q5_1 dots use it for the min term.
                let s = UInt16(raw[b * 36 + 2]) | UInt16(raw[b * 36 + 3]) << 8
                #expect(s == Float16(d * Float(sum)).bitPattern, "block \(b) s")
            }
        }
    }

    /// Q8_K: f32 d = max/-127 (so |x - d*q| <= |d|/2), bsums = sums of 16 codes, codes within -127...127.
    @Test func q8KWithinHalfStepAndBsums() {
        let x = randomFloats(256 * 6, seed: 12, blockSize: 256)
        let raw = Self.activations(x, for: .q4_K)
        #expect(raw.count == 6 * 292)
        let y = dequantized(.q8_K, raw, count: x.count)
        for b in 0..<6 {
            let block = Array(raw[(b * 292)..<(b * 292 + 292)])
            let d = block.withUnsafeBytes { $0.loadUnaligned(as: Float.self) }
            let amax = x[(256 * b)..<(256 * b + 256)].map(abs).max()!
            #expect(abs(abs(d) - amax / 127) <= amax / 127 * 1e-6)
            for j in 0..<16 {
                var sum = 0
                for e in 0..<16 {
                    let q = Int(Int8(bitPattern: block[4 + 16 * j + e]))
                    #expect(abs(q) <= 127)
                    sum += q
                    let i = 256 * b + 16 * j + e
                    #expect(abs(x[i] - y[i]) <= abs(d) / 2 * 1.000001, "block \(b) element \(16 * j + e)")
                }
                let bsum = Int(Int16(bitPattern: UInt16(block[260 + 2 * j]) | UInt16(block[261 + 2 * j]) << 8))
                #expect(bsum == sum, "block \(b) bsum \(j)")
            }
        }
    }
}
