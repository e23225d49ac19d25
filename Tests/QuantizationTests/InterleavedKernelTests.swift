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
                layout.repack(type, source: w.baseAddress!, rowBytes: weights.count / rows, groups: 0..<(rows / layout.rowsPerGroup), into: o.baseAddress!)
            }
        }
        return out
    }

    @Test(arguments: types)
    func repackedRowsDequantizeToTheOriginal(_ type: GGMLType) {
        let layout = WeightLayout.preferred(for: type)
        #expect(layout == (type == .q8_0 ? .interleaved4 : .interleaved8))
        // Hostile-looking codes too: every byte pattern is a valid block of these types.
        var rng = SplitMix64(seed: 77 &+ UInt64(type.rawValue))
        let weights = (0..<(Self.rows * Self.columns / 32 * type.typeSize)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let packed = Self.repacked(type, weights)
        let rowBytes = weights.count / Self.rows
        for r in 0..<Self.rows {
            let original = dequantized(type, Array(weights[(r * rowBytes)..<((r + 1) * rowBytes)]), count: Self.columns)
            var got = [Float](repeating: 0, count: Self.columns)
            packed.withUnsafeBytes { p in
                got.withUnsafeMutableBufferPointer { layout.dequantizeRow(type, data: p.baseAddress!, rowBytes: rowBytes, columns: Self.columns, row: r, into: $0.baseAddress!) }
            }
            #expect(got.elementsEqual(original) { $0 == $1 || ($0.isNaN && $1.isNaN) }, "\(type) row \(r)")
        }
    }

    @Test(arguments: types, [1, 2, 4, 5, 9])
    func matmulMatchesFloat64Reference(_ type: GGMLType, batch: Int) throws {
        let layout = WeightLayout.preferred(for: type)
        let kernel = try Quantization.dotKernel(for: type, layout: layout)
        #expect(kernel.layout == layout && layout != .rowMajor)
        let weights = quantized(type, randomFloats(Self.rows * Self.columns, seed: 500 &+ UInt64(type.rawValue)))
        let rowBytes = weights.count / Self.rows
        let packed = Self.repacked(type, weights)
        let x = randomFloats(Self.columns * batch, seed: 900 &+ UInt64(batch))
        let aRowBytes = kernel.activationRowBytes(count: Self.columns)
        var acts = [UInt8](repeating: 0, count: aRowBytes * batch)
        x.withUnsafeBufferPointer { xp in
            acts.withUnsafeMutableBytes { ap in
                for b in 0..<batch { kernel.quantizeActivations(xp.baseAddress! + b * Self.columns, count: Self.columns, into: ap.baseAddress! + b * aRowBytes) }
            }
        }
        let stride = Self.rows + 3
        var out = [Float](repeating: .nan, count: stride * batch)
        packed.withUnsafeBytes { w in
            acts.withUnsafeBytes { a in
                out.withUnsafeMutableBufferPointer { o in
                    kernel.matmul(weights: w.baseAddress!, weightRowBytes: rowBytes, rows: 8..<24, columns: Self.columns,
                                  activations: a.baseAddress!, activationRowBytes: aRowBytes, batch: batch, output: o.baseAddress!, outputStride: stride)
                }
            }
        }
        for b in 0..<batch {
            // The activation codes and scale are Q8_1's (the sum field aside), also for Q8_0.
            var q81 = [UInt8](repeating: 0, count: Self.columns / 32 * 36)
            x.withUnsafeBufferPointer { xp in
                q81.withUnsafeMutableBytes { Quantization.quantize(.q8_1, from: xp.baseAddress! + b * Self.columns, to: $0.baseAddress!, count: Self.columns) }
            }
            let xa = dequantized(.q8_1, q81, count: Self.columns)
            for r in 0..<stride {
                let got = out[b * stride + r]
                guard (8..<24).contains(r) else {
                    #expect(got.isNaN, "\(type) wrote outside its rows: output[\(b), \(r)]")
                    continue
                }
                let raw = Array(weights[(r * rowBytes)..<((r + 1) * rowBytes)])
                let w = dequantized(type, raw, count: Self.columns)
                var exact = 0.0, magnitude = 0.0
                for i in 0..<Self.columns { exact += Double(w[i]) * Double(xa[i]); magnitude += abs(Double(w[i]) * Double(xa[i])) }
                // As in DotKernelTests: exact integer block sums, f32 rounding of scales and of the
                // accumulation; Q4_1's min term uses the f16-rounded s = d·Σq.
                var tolerance = 1e-4 * magnitude
                if type == .q4_1 {
                    for blk in 0..<(Self.columns / 32) {
                        tolerance += abs(Double(DotKernelTests.half(raw, blk * 20 + 2)) * Double(DotKernelTests.half(q81, blk * 36 + 2))) / 1024
                    }
                }
                #expect(abs(Double(got) - exact) <= tolerance, "\(type) row \(r) batch \(b)/\(batch): \(got) vs \(exact)")
            }
        }
    }

    /// `isBatchInvariant` kernels give every activation row the bits it gets alone: the server
    /// batches unrelated requests and promises each the tokens it would get served alone. A batch
    /// of 9 reads expanded activations in the interleaved kernels, one of 21 the compact rows
    /// (`Interleaved8AVX2.expansionLimit`), and a row alone the expanded copy again.
    @Test(arguments: [GGMLType.q4_0, .q4_1, .q5_0, .q8_0, .q4_K, .q6_K], [9, 21])
    func batchInvariantRowsEqualTheRowAlone(_ type: GGMLType, batch: Int) throws {
        let layout = WeightLayout.preferred(for: type)
        let kernel = try Quantization.dotKernel(for: type, layout: layout)
        #expect(kernel.isBatchInvariant)
        let columns = type.blockSize == 256 ? 512 : Self.columns
        let weights = quantized(type, randomFloats(Self.rows * columns, seed: 31 &+ UInt64(type.rawValue)))
        let rowBytes = weights.count / Self.rows
        let packed = layout == .rowMajor ? weights : Self.repacked(type, weights)
        let x = randomFloats(columns * batch, seed: 4242)
        let aRowBytes = kernel.activationRowBytes(count: columns)
        var acts = [UInt8](repeating: 0, count: aRowBytes * batch)
        x.withUnsafeBufferPointer { xp in
            acts.withUnsafeMutableBytes { ap in
                for b in 0..<batch { kernel.quantizeActivations(xp.baseAddress! + b * columns, count: columns, into: ap.baseAddress! + b * aRowBytes) }
            }
        }
        func products(firstRow: Int, count: Int) -> [Float] {
            var out = [Float](repeating: .nan, count: Self.rows * count)
            packed.withUnsafeBytes { w in
                acts.withUnsafeBytes { a in
                    out.withUnsafeMutableBufferPointer { o in
                        kernel.matmul(weights: w.baseAddress!, weightRowBytes: rowBytes, rows: 0..<Self.rows, columns: columns,
                                      activations: a.baseAddress! + firstRow * aRowBytes, activationRowBytes: aRowBytes, batch: count,
                                      output: o.baseAddress!, outputStride: Self.rows)
                    }
                }
            }
            return out
        }
        let together = products(firstRow: 0, count: batch)
        for b in 0..<batch {
            let alone = products(firstRow: b, count: 1)
            let row = Array(together[(b * Self.rows)..<((b + 1) * Self.rows)])
            #expect(row.map(\.bitPattern) == alone.map(\.bitPattern), "\(type): activation row \(b) of \(batch) differs from the row alone")
        }
    }

    /// Q8_0 matrices without a −128 code (all that amax/127 quantizers write) take the symmetric
    /// kernel, which must give the general kernel's bits; one −128 code sends the matrix back to the
    /// general kernel, and the symmetric one would indeed be wrong there (|y|·sign(c, y) wraps).
    @Test(arguments: [1, 4, 5])
    func symmetricQ8_0KernelEqualsTheGeneralOneAndIsRefusedForMinus128(batch: Int) throws {
        let rows = 16, columns = 4 * 32
        var weights = quantized(.q8_0, randomFloats(rows * columns, seed: 808))
        let rowBytes = weights.count / rows
        let x = randomFloats(columns * batch, seed: 909 &+ UInt64(batch))
        func products(_ layout: WeightLayout, _ weights: [UInt8]) throws -> [Float] {
            let kernel = try Quantization.dotKernel(for: .q8_0, layout: layout)
            let packed = Self.repacked(.q8_0, weights, rows: rows)
            let aRowBytes = kernel.activationRowBytes(count: columns)
            var acts = [UInt8](repeating: 0, count: aRowBytes * batch)
            x.withUnsafeBufferPointer { xp in
                acts.withUnsafeMutableBytes { ap in
                    for b in 0..<batch { kernel.quantizeActivations(xp.baseAddress! + b * columns, count: columns, into: ap.baseAddress! + b * aRowBytes) }
                }
            }
            var out = [Float](repeating: .nan, count: rows * batch)
            packed.withUnsafeBytes { w in
                acts.withUnsafeBytes { a in
                    out.withUnsafeMutableBufferPointer { o in
                        kernel.matmul(weights: w.baseAddress!, weightRowBytes: rowBytes, rows: 0..<rows, columns: columns,
                                      activations: a.baseAddress!, activationRowBytes: aRowBytes, batch: batch, output: o.baseAddress!, outputStride: rows)
                    }
                }
            }
            return out
        }
        func refined(_ weights: [UInt8]) -> WeightLayout {
            Self.repacked(.q8_0, weights, rows: rows).withUnsafeBytes {
                WeightLayout.interleaved4.refined(data: $0.baseAddress!, byteCount: $0.count)
            }
        }
        #expect(refined(weights) == .interleaved4Symmetric)
        #expect(try products(.interleaved4Symmetric, weights).map(\.bitPattern) == products(.interleaved4, weights).map(\.bitPattern))

        // Row 13, block 2, element 5 becomes −128.
        weights[13 * rowBytes + 2 * 34 + 2 + 5] = 0x80
        #expect(refined(weights) == .interleaved4)
        let general = try products(.interleaved4, weights), symmetric = try products(.interleaved4Symmetric, weights)
        let xa = x.withUnsafeBufferPointer { xp -> [Float] in
            var q81 = [UInt8](repeating: 0, count: columns / 32 * 36)
            q81.withUnsafeMutableBytes { Quantization.quantize(.q8_1, from: xp.baseAddress!, to: $0.baseAddress!, count: columns) }
            return dequantized(.q8_1, q81, count: columns)
        }
        let w13 = dequantized(.q8_0, Array(weights[(13 * rowBytes)..<(14 * rowBytes)]), count: columns)
        var exact = 0.0, magnitude = 0.0
        for i in 0..<columns { exact += Double(w13[i]) * Double(xa[i]); magnitude += abs(Double(w13[i]) * Double(xa[i])) }
        #expect(abs(Double(general[13]) - exact) <= 1e-4 * magnitude, "general kernel on a −128 code: \(general[13]) vs \(exact)")
        if xa[2 * 32 + 5] < 0 { #expect(symmetric[13] != general[13]) }
    }

    @Test func typesWithoutAnInterleavedKernelAreRefused() {
        for type in [GGMLType.q4_K, .q6_K, .f16, .q5_1, .q8_0] {
            #expect(!Interleaved8.supports(type))
            #expect(throws: QuantizationError.unsupportedType(type)) { try Quantization.dotKernel(for: type, layout: .interleaved8) }
        }
        for type in [GGMLType.q4_0, .q4_K, .f32] {
            #expect(throws: QuantizationError.unsupportedType(type)) { try Quantization.dotKernel(for: type, layout: .interleaved4) }
        }
    }
}
