import GGUF
import Quantization
import Testing

@Suite struct ActivationQuantizationTests {
    static func activations(_ x: [Float], for weight: GGMLType) -> [UInt8] {
        var out = [UInt8](repeating: 0xAA, count: Quantization.activationRowBytes(for: weight, count: x.count))
        x.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBytes {
                Quantization.quantizeActivations(src.baseAddress!, count: x.count, for: weight, into: $0.baseAddress!)
            }
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

    /// ggml-cpu's x86 `quantize_row_q8_0/q8_1`, written out in scalar form: id = 127/amax (not the
    /// reference 1/(amax/127)) and codes rounded half to even (`_MM_ROUND_NEAREST`, not `roundf`).
    static func llamaCppRunTime(_ x: [Float], sum: Bool) -> [UInt8] {
        var out: [UInt8] = []
        for b in 0..<(x.count / 32) {
            let block = x[(32 * b)..<(32 * b + 32)]
            let amax = block.map(abs).max()!
            let d = amax / 127
            let id: Float = amax != 0 ? 127 / amax : 0
            let q = block.map { Int8(($0 * id).rounded(.toNearestOrEven)) }
            out += withUnsafeBytes(of: Float16(d).bitPattern.littleEndian, Array.init)
            if sum { out += withUnsafeBytes(of: Float16(d * Float(q.reduce(0) { $0 + Int($1) })).bitPattern.littleEndian, Array.init) }
            out += q.map { UInt8(bitPattern: $0) }
        }
        return out
    }

    /// A tie: with amax 127, id = 1 and 2.5 rounds to 2 (half to even, as llama.cpp runs it) where the
    /// reference quantizer's roundf gives 3; and 127/amax vs 1/(amax/127) differ in the last bit.
    @Test func tiesRoundToEvenAsLlamaCppRunsIt() {
        var x = [Float](repeating: 0, count: 32)
        x[0] = 127
        x[1] = 2.5
        x[2] = -3.5
        let raw = Self.activations(x, for: .q4_0)
        #expect(Int8(bitPattern: raw[3]) == 2)
        #expect(Int8(bitPattern: raw[4]) == -4)
        #expect(Int8(bitPattern: quantized(.q8_0, x)[3]) == 3)
        // An amax where the two ways of computing id differ and a code lands on the other side.
        let amax: Float = 0.3
        #expect(127 / amax != 1 / (amax / 127))
    }

    /// Q8_0 and Q8_1: |x - d16*q| <= d/2 + 127*|d - d16|, with d = amax/127 and d16 its fp16.
    @Test(arguments: [GGMLType.q4_0, .q4_1])
    func q8BlocksWithinHalfStep(_ weight: GGMLType) {
        let x = randomFloats(32 * 30, seed: 11)
        let raw = Self.activations(x, for: weight)
        let aType = Quantization.activationType(for: weight)
        #expect(raw == Self.llamaCppRunTime(x, sum: aType == .q8_1), "activation quantizer must equal llama.cpp's run-time quantizer")
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
