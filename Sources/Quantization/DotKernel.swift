import GGUF

/// Matrix product of quantized weight rows with pre-quantized activation rows.
public struct DotKernel: Sendable {
    public let weightType: GGMLType
    public let activationType: GGMLType
    /// Scalar kernels instead of AVX2 (always true off x86-64).
    public let isPortable: Bool

    init(weightType: GGMLType, activationType: GGMLType, portable: Bool) {
        self.weightType = weightType
        self.activationType = activationType
        self.isPortable = portable
    }

    /// For every weight row r in `rows` and activation row b in 0..<batch:
    ///   output[b * outputStride + r] = dot(weight row r, activation row b)
    /// Weight row r starts at weights + r * weightRowBytes; activation row b at activations + b * activationRowBytes
    /// (already quantized with `Quantization.quantizeActivations`); `columns` = elements per row.
    /// Single-threaded: the caller splits `rows` across threads. Each weight row is decoded once per
    /// group of four activation rows.
    public func matmul(weights: UnsafeRawPointer, weightRowBytes: Int, rows: Range<Int>, columns: Int,
                       activations: UnsafeRawPointer, activationRowBytes: Int, batch: Int,
                       output: UnsafeMutablePointer<Float>, outputStride: Int) {
        precondition(columns % weightType.blockSize == 0, "matmul: \(columns) columns is not a multiple of \(weightType.name)'s block size")
        let job = MatmulJob(weights: weights, weightRowBytes: weightRowBytes, rows: rows, columns: columns,
                            activations: activations, activationRowBytes: activationRowBytes, batch: batch,
                            output: output, outputStride: outputStride)
        if rows.isEmpty || batch <= 0 { return }
        #if arch(x86_64)
        if !isPortable {
            AVX2Kernels.matmul(weightType.rawValue, job)
            return
        }
        #endif
        PortableKernels.matmul(weightType.rawValue, job)
    }
}

/// The arguments of one matmul call, passed down to the per-family drivers.
struct MatmulJob {
    let weights: UnsafeRawPointer
    let weightRowBytes: Int
    let rows: Range<Int>
    let columns: Int
    let activations: UnsafeRawPointer
    let activationRowBytes: Int
    let batch: Int
    let output: UnsafeMutablePointer<Float>
    let outputStride: Int

    @inline(__always) func weightRow(_ r: Int) -> UnsafeRawPointer { weights + r * weightRowBytes }
    @inline(__always) func activationRow(_ b: Int) -> UnsafeRawPointer { activations + b * activationRowBytes }
    @inline(__always) func store(_ value: Float, row r: Int, batch b: Int) { output[b * outputStride + r] = value }
}
