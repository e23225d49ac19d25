import GGUF
import Quantization
import Testing

/// The interleaved layouts: repacking loses nothing, and their kernels compute the same products
/// as a float64 reference on the original rows.
@Suite struct InterleavedKernelTests {
    static let types: [GGMLType] = [.q4_0, .q4_1, .q5_0, .q8_0]
    static let rows = 24, columns = 7 * 32

    static func repacked(_ type: GGMLType, _ weights: [UInt8], rows: Int = Self.rows) -> [UInt8] {
        let layout = WeightLayout.preferred(for: type)
        var out = [UInt8](repeating: 0xAA, count: weights.count)
        weights.withUnsafeBytes { w in
            out.withUnsafeMutableBytes { o in
                layout.repack(
                    type, source: w.baseAddress!, rowBytes: weights.count / rows, groups: 0..<(rows / layout.rowsPerGroup),
                    into: o.baseAddress!)
            }
        }
        return out
    }

    /// `kernel` over weight rows `rows` of a repacked matrix and `batch` activation rows of `x`,
    /// quantized as the kernel wants them; output rows `stride` apart, NaN where nothing was written.
    static func products(
        _ kernel: DotKernel, _ packed: [UInt8], rowBytes: Int, rows: Range<Int>, columns: Int,
        _ x: [Float], batch: Int, stride: Int
    ) -> [Float] {
        let aRowBytes = kernel.activationRowBytes(count: columns)
        var acts = [UInt8](repeating: 0, count: aRowBytes * batch)
        x.withUnsafeBufferPointer { xp in
            acts.withUnsafeMutableBytes { ap in
                for b in 0..<batch {
                    kernel.quantizeActivations(xp.baseAddress! + b * columns, count: columns, into: ap.baseAddress! + b * aRowBytes)
                }
            }
        }
        var out = [Float](repeating: .nan, count: stride * batch)
        packed.withUnsafeBytes { w in
            acts.withUnsafeBytes { a in
                out.withUnsafeMutableBufferPointer { o in
                    kernel.matmul(
                        weights: w.baseAddress!, weightRowBytes: rowBytes, rows: rows, columns: columns,
                        activations: a.baseAddress!, activationRowBytes: aRowBytes, batch: batch, output: o.baseAddress!,
                        outputStride: stride)
                }
            }
        }
        return out
    }

    /// Activation row `b` of `x` as the kernels see it: its Q8_1 blocks (codes and scale are the
    /// same for every interleaved format, the sum field aside) and their dequantized values.
    static func referenceActivations(_ x: [Float], row b: Int, columns: Int) -> (q81: [UInt8], values: [Float]) {
        var q81 = [UInt8](repeating: 0, count: columns / 32 * 36)
        x.withUnsafeBufferPointer { xp in
            q81.withUnsafeMutableBytes {
                Quantization.quantize(.q8_1, from: xp.baseAddress! + b * columns, to: $0.baseAddress!, count: columns)
            }
        }
        return (q81, dequantized(.q8_1, q81, count: columns))
    }

    /// Σ w·x in float64, and Σ |w·x| to scale a tolerance by.
    static func float64Dot(_ w: [Float], _ x: [Float]) -> (exact: Double, magnitude: Double) {
        var exact = 0.0, magnitude = 0.0
        for i in w.indices { exact += Double(w[i]) * Double(x[i]); magnitude += abs(Double(w[i]) * Double(x[i])) }
        return (exact, magnitude)
    }

    @Test(arguments: types)
    func repackedRowsDequantizeToTheOriginal(_ type: GGMLType) {
        let layout = WeightLayout.preferred(for: type)
        #expect(layout == .interleaved8)
        // Hostile-looking codes too: every byte pattern is a valid block of these types.
        var rng = SplitMix64(seed: 77 &+ UInt64(type.rawValue))
        let weights = (0..<(Self.rows * Self.columns / 32 * type.typeSize)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let packed = Self.repacked(type, weights)
        let rowBytes = weights.count / Self.rows
        for r in 0..<Self.rows {
            let original = dequantized(type, Array(weights[(r * rowBytes)..<((r + 1) * rowBytes)]), count: Self.columns)
            var got = [Float](repeating: 0, count: Self.columns)
            packed.withUnsafeBytes { p in
                got.withUnsafeMutableBufferPointer {
                    layout.dequantizeRow(
                        type, data: p.baseAddress!, rowBytes: rowBytes, columns: Self.columns, row: r, into: $0.baseAddress!)
                }
            }
            #expect(got.elementsEqual(original) { $0 == $1 || ($0.isNaN && $1.isNaN) }, "\(type) row \(r)")
        }
    }

    @Test(arguments: types, [1, 2, 3, 4, 5, 6, 7, 9])
    func matmulMatchesFloat64Reference(_ type: GGMLType, batch: Int) throws {
        let layout = WeightLayout.preferred(for: type)
        let kernel = try Quantization.dotKernel(for: type, layout: layout)
        #expect(kernel.layout == layout && layout != .rowMajor)
        let weights = quantized(type, randomFloats(Self.rows * Self.columns, seed: 500 &+ UInt64(type.rawValue)))
        let rowBytes = weights.count / Self.rows
        let packed = Self.repacked(type, weights)
        let x = randomFloats(Self.columns * batch, seed: 900 &+ UInt64(batch))
        let stride = Self.rows + 3
        let out = Self.products(kernel, packed, rowBytes: rowBytes, rows: 8..<24, columns: Self.columns, x, batch: batch, stride: stride)
        for b in 0..<batch {
            let (q81, xa) = Self.referenceActivations(x, row: b, columns: Self.columns)
            for r in 0..<stride {
                let got = out[b * stride + r]
                guard (8..<24).contains(r) else {
                    #expect(got.isNaN, "\(type) wrote outside its rows: output[\(b), \(r)]")
                    continue
                }
                let raw = Array(weights[(r * rowBytes)..<((r + 1) * rowBytes)])
                let (exact, magnitude) = Self.float64Dot(dequantized(type, raw, count: Self.columns), xa)
                // As in DotKernelTests: exact integer block sums, f32 rounding of scales and of the
                // accumulation; Q4_1's min term uses the f16-rounded s = d·Σq.
                var tolerance = 1e-4 * magnitude
                if type == .q4_1 {
                    for blk in 0..<(Self.columns / 32) {
                        tolerance +=
                            abs(Double(DotKernelTests.half(raw, blk * 20 + 2)) * Double(DotKernelTests.half(q81, blk * 36 + 2))) / 1024
                    }
                }
                #expect(abs(Double(got) - exact) <= tolerance, "\(type) row \(r) batch \(b)/\(batch): \(got) vs \(exact)")
            }
        }
    }

    /// The interleaved and K-quant kernels give every activation row the bits it gets alone: the server
    /// batches unrelated requests and promises each the tokens it would get served alone. Batches
    /// of 6, 7 and 9 read expanded activations in the interleaved kernels and end in a two-, three-
    /// and one-row loop; one of 21 reads the compact rows (`Interleaved8AVX2.expansionLimit`); a
    /// row alone reads the expanded copy again.
    @Test(arguments: [GGMLType.q4_0, .q4_1, .q5_0, .q8_0, .q4_K, .q6_K], [6, 7, 9, 21])
    func batchInvariantRowsEqualTheRowAlone(_ type: GGMLType, batch: Int) throws {
        let layout = WeightLayout.preferred(for: type)
        let kernel = try Quantization.dotKernel(for: type, layout: layout)
        let columns = type.blockSize == 256 ? 512 : Self.columns
        let weights = quantized(type, randomFloats(Self.rows * columns, seed: 31 &+ UInt64(type.rawValue)))
        let rowBytes = weights.count / Self.rows
        let packed = layout == .rowMajor ? weights : Self.repacked(type, weights)
        BatchInvarianceTests.expectEveryRowAsAlone(
            kernel, packed, rowBytes: rowBytes, rows: Self.rows, columns: columns,
            randomFloats(columns * batch, seed: 4242), batch: batch, "\(type)")
    }

    /// A −128 code, which no amax/127 quantizer writes but a file may hold, is multiplied exactly:
    /// the kernel takes |c| as unsigned (128) and moves c's sign onto the activation codes (±127).
    /// Every sign of the activation at that position is covered (x is negated for the second pass).
    @Test(arguments: [1, 3, 4, 5])
    func q8_0CodeMinus128IsExact(batch: Int) throws {
        let rows = 16, columns = 4 * 32
        var weights = quantized(.q8_0, randomFloats(rows * columns, seed: 808))
        let rowBytes = weights.count / rows
        // Row 13, block 2, element 5 becomes −128; so does every code of row 6's block 1.
        weights[13 * rowBytes + 2 * 34 + 2 + 5] = 0x80
        for e in 0..<32 { weights[6 * rowBytes + 34 + 2 + e] = 0x80 }
        let kernel = try Quantization.dotKernel(for: .q8_0, layout: .interleaved8)
        let packed = Self.repacked(.q8_0, weights, rows: rows)
        for sign: Float in [1, -1] {
            let x = randomFloats(columns * batch, seed: 909 &+ UInt64(batch)).map { $0 * sign }
            let out = Self.products(kernel, packed, rowBytes: rowBytes, rows: 0..<rows, columns: columns, x, batch: batch, stride: rows)
            for b in 0..<batch {
                let xa = Self.referenceActivations(x, row: b, columns: columns).values
                for r in [6, 13] {
                    let w = dequantized(.q8_0, Array(weights[(r * rowBytes)..<((r + 1) * rowBytes)]), count: columns)
                    let (exact, magnitude) = Self.float64Dot(w, xa)
                    let got = out[b * rows + r]
                    #expect(abs(Double(got) - exact) <= 1e-4 * magnitude, "row \(r) batch \(b)/\(batch) sign \(sign): \(got) vs \(exact)")
                }
            }
        }
    }

    @Test func typesWithoutAnInterleavedKernelAreRefused() {
        for type in [GGMLType.q4_K, .q6_K, .f16, .q5_1, .f32] {
            #expect(!Interleaved8.supports(type))
            #expect(throws: QuantizationError.unsupportedType(type)) { try Quantization.dotKernel(for: type, layout: .interleaved8) }
        }
    }
}
