import GGUF
import Quantization
import Testing

@Suite struct DotKernelTests {
    static let types = Quantization.supportedWeightTypes

    struct Setup {
        let type: GGMLType
        let columns: Int
        let rowCount = 11
        let weights: [UInt8]
        let weightRowBytes: Int

        init(_ type: GGMLType) {
            self.type = type
            // Several blocks per row; F32/F16/BF16 get an odd length to reach the scalar tail.
            columns = type.blockSize == 1 ? 45 : (type.blockSize == 32 ? 7 * 32 : 3 * 256)
            weightRowBytes = columns / type.blockSize * type.typeSize
            let x = randomFloats(columns * rowCount, seed: 1000 &+ UInt64(type.rawValue), blockSize: type.blockSize == 256 ? 64 : 32)
            weights = quantized(type, x)
        }
    }

    static func run(_ kernel: DotKernel, _ s: Setup, rows: Range<Int>, batch: Int, seed: UInt64) {
        let type = s.type
        let aType = Quantization.activationType(for: type)
        let aRowBytes = Quantization.activationRowBytes(for: type, count: s.columns)
        let x = randomFloats(s.columns * batch, seed: seed, blockSize: 32)
        var acts = [UInt8](repeating: 0, count: aRowBytes * batch)
        x.withUnsafeBufferPointer { xp in
            acts.withUnsafeMutableBytes { ap in
                for b in 0..<batch {
                    Quantization.quantizeActivations(
                        xp.baseAddress! + b * s.columns, count: s.columns, for: type, into: ap.baseAddress! + b * aRowBytes)
                }
            }
        }
        let outputStride = s.rowCount + 2
        var out = [Float](repeating: .nan, count: outputStride * batch)
        s.weights.withUnsafeBytes { w in
            acts.withUnsafeBytes { a in
                out.withUnsafeMutableBufferPointer { o in
                    kernel.matmul(
                        weights: w.baseAddress!, weightRowBytes: s.weightRowBytes, rows: rows, columns: s.columns,
                        activations: a.baseAddress!, activationRowBytes: aRowBytes, batch: batch,
                        output: o.baseAddress!, outputStride: outputStride)
                }
            }
        }
        for b in 0..<batch {
            let aRaw = Array(acts[(b * aRowBytes)..<((b + 1) * aRowBytes)])
            let xa = dequantized(aType, aRaw, count: s.columns)
            for r in 0..<outputStride {
                let got = out[b * outputStride + r]
                guard rows.contains(r) else {
                    #expect(got.isNaN, "\(type) wrote outside rows: output[\(b), \(r)]")
                    continue
                }
                let wRaw = Array(s.weights[(r * s.weightRowBytes)..<((r + 1) * s.weightRowBytes)])
                let w = dequantized(type, wRaw, count: s.columns)
                var exact = 0.0, magnitude = 0.0
                for i in 0..<s.columns { exact += Double(w[i]) * Double(xa[i]); magnitude += abs(Double(w[i]) * Double(xa[i])) }
                // Integer block sums are exact, so what remains is f32 rounding of the per-block scale
                // products and of the f32 accumulation over <= 45 terms: a few 1e-7 of sum|w*x|.
                // 1e-4 leaves margin while a wrong code, scale or min shows up as >= 1e-2.
                var tolerance = 1e-4 * magnitude
                if aType == .q8_1 {
                    // Q4_1/Q5_1 add m * s per block, where s = fp16(d * sum q) is rounded to fp16 and uses
                    // the unrounded d: off from m * d16 * sum q by up to 2^-10 of |m * s|.
                    for blk in 0..<(s.columns / 32) {
                        let m = Double(half(wRaw, blk * type.typeSize + 2)), sa = Double(half(aRaw, blk * 36 + 2))
                        tolerance += abs(m * sa) / 1024
                    }
                }
                #expect(
                    abs(Double(got) - exact) <= tolerance,
                    "\(type)\(kernel.isPortable ? " portable" : "") row \(r) batch \(b)/\(batch): \(got) vs \(exact) (tolerance \(tolerance))"
                )
            }
        }
    }

    static func half(_ raw: [UInt8], _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(raw[offset]) | UInt16(raw[offset + 1]) << 8))
    }

    @Test(arguments: types, [false, true])
    func matmulMatchesFloat64Reference(_ type: GGMLType, portable: Bool) throws {
        let kernel = try Quantization.dotKernel(for: type, portable: portable)
        #expect(kernel.weightType == type)
        #expect(kernel.activationType == Quantization.activationType(for: type))
        let s = Setup(type)
        Self.run(kernel, s, rows: 3..<10, batch: 1, seed: 5)
        Self.run(kernel, s, rows: 3..<10, batch: 5, seed: 6)
        Self.run(kernel, s, rows: 1..<2, batch: 9, seed: 7)
    }

    @Test func unsupportedTypesThrowNamingTheType() {
        for type in [GGMLType.iq2_XXS, .q8_K, .q8_1, .tq1_0, .i32] {
            #expect(throws: QuantizationError.unsupportedType(type)) { try Quantization.dotKernel(for: type) }
            #expect(throws: QuantizationError.unsupportedType(type)) { try Quantization.checkSupported(type) }
        }
        let message = QuantizationError.unsupportedType(.iq2_XXS).description
        #expect(message.contains("IQ2_XXS"))
        #expect(message.contains("Q4_K") && message.contains("BF16"))
        #expect(Quantization.supportedWeightTypes.count == 13)
    }
}
