import GGUF
import Quantization
import Testing

/// Every kernel gives an activation row the same bits whatever else shares its batch, so a token's
/// logits do not depend on how its prompt was chunked or what a server batched it with (`run`,
/// `chat` and `serve` answer a prompt alike). The interleaved layouts are covered in
/// `InterleavedKernelTests`; here every type in the file's own row-major layout, AVX2 and portable.
/// 22 weight rows end the four-row decode loop on a two-row remainder; batches of 2, 3, 5, 6 and 9
/// mix the one-row and four-row loops.
@Suite struct BatchInvarianceTests {
    static let types: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]
    static let rows = 22

    @Test(arguments: types, [false, true])
    func rowMajorRowsEqualTheRowAlone(_ type: GGMLType, portable: Bool) throws {
        let kernel = try Quantization.dotKernel(for: type, portable: portable)
        // 2 × 256 + 40 columns for float types exercises their 16-, 8- and 1-element tails.
        let columns = type.blockSize == 256 ? 512 : type.blockSize == 1 ? 552 : 7 * 32
        let weights = quantized(type, randomFloats(Self.rows * columns, seed: 51 &+ UInt64(type.rawValue)))
        let rowBytes = weights.count / Self.rows
        for batch in [2, 3, 5, 6, 9] {
            Self.expectEveryRowAsAlone(
                kernel, weights, rowBytes: rowBytes, rows: Self.rows, columns: columns,
                randomFloats(columns * batch, seed: 777 &+ UInt64(batch)), batch: batch,
                "\(type)\(portable ? " (portable)" : "")")
        }
    }

    /// Multiplies `batch` activation rows of `x` together and each row alone, and expects the same
    /// bits for every row.
    static func expectEveryRowAsAlone(
        _ kernel: DotKernel, _ weights: [UInt8], rowBytes: Int, rows: Int, columns: Int,
        _ x: [Float], batch: Int, _ what: String
    ) {
        func products(firstRow: Int, count: Int) -> [Float] {
            InterleavedKernelTests.products(
                kernel, weights, rowBytes: rowBytes, rows: 0..<rows, columns: columns,
                Array(x[(firstRow * columns)..<((firstRow + count) * columns)]), batch: count, stride: rows)
        }
        let together = products(firstRow: 0, count: batch)
        for b in 0..<batch {
            let alone = products(firstRow: b, count: 1)
            let row = Array(together[(b * rows)..<((b + 1) * rows)])
            #expect(row.map(\.bitPattern) == alone.map(\.bitPattern), "\(what): activation row \(b) of \(batch) differs from the row alone")
        }
    }
}
