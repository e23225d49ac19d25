import GGUF

/// How a backend arranged a weight matrix's rows in memory.
public enum WeightLayout: Sendable, Equatable {
    /// As in the GGUF file: row after row of quantized blocks.
    case rowMajor
    /// Eight rows interleaved block by block (`Interleaved8`: Q4_0, Q4_1, Q5_0, Q8_0).
    case interleaved8

    /// The layout the CPU backend repacks `type` into (x86-64 AVX2), or `rowMajor`.
    public static func preferred(for type: GGMLType) -> WeightLayout {
        Interleaved8.supports(type) ? .interleaved8 : .rowMajor
    }

    /// Rows per group: a matrix can take this layout only if its row count is a multiple.
    public var rowsPerGroup: Int {
        switch self {
        case .rowMajor: return 1
        case .interleaved8: return Interleaved8.rowsPerGroup
        }
    }

    /// Repacks row groups `groups` of a row-major matrix into this layout.
    public func repack(
        _ type: GGMLType, source: UnsafeRawPointer, rowBytes: Int, groups: Range<Int>, into destination: UnsafeMutableRawPointer
    ) {
        switch self {
        case .rowMajor:
            (destination + groups.lowerBound * rowBytes).copyMemory(
                from: source + groups.lowerBound * rowBytes, byteCount: groups.count * rowBytes)
        case .interleaved8: Interleaved8.repack(type, source: source, rowBytes: rowBytes, groups: groups, into: destination)
        }
    }

    /// Dequantizes row `row` of a matrix in this layout.
    public func dequantizeRow(
        _ type: GGMLType, data: UnsafeRawPointer, rowBytes: Int, columns: Int, row: Int, into out: UnsafeMutablePointer<Float>
    ) {
        switch self {
        case .rowMajor: Quantization.dequantize(type, from: data + row * rowBytes, to: out, count: columns)
        case .interleaved8: Interleaved8.dequantizeRow(type, data: data, columns: columns, row: row, into: out)
        }
    }
}

/// Matrix product of quantized weight rows with pre-quantized activation rows.
public struct DotKernel: Sendable {
    public let weightType: GGMLType
    public let activationType: GGMLType
    /// Scalar kernels instead of AVX2 (always true off x86-64).
    public let isPortable: Bool
    /// The weight layout this kernel reads.
    public let layout: WeightLayout
    /// Weights in the eight-row interleaved layout (`Interleaved8`), activations in Q8S blocks.
    public var isInterleaved: Bool { layout == .interleaved8 }

    init(weightType: GGMLType, activationType: GGMLType, portable: Bool, layout: WeightLayout = .rowMajor) {
        self.weightType = weightType
        self.activationType = activationType
        self.isPortable = portable
        self.layout = layout
    }

    /// Identifies the activation encoding this kernel reads: kernels with equal values can share
    /// one quantized copy of the same input (the ggml type id, or ids above 1000 for Q8S blocks).
    public var activationFormat: UInt32 {
        isInterleaved ? (weightType.id == .q4_1 ? 1001 : 1002) : activationType.rawValue
    }

    /// Bytes of one quantized activation row of `count` elements.
    public func activationRowBytes(count: Int) -> Int {
        isInterleaved ? Interleaved8.activationRowBytes(count: count) : Quantization.activationRowBytes(for: weightType, count: count)
    }

    /// Quantizes one f32 activation row into the format this kernel multiplies with.
    public func quantizeActivations(_ x: UnsafePointer<Float>, count: Int, into destination: UnsafeMutableRawPointer) {
        if isInterleaved {
            Interleaved8.quantizeActivations(x, count: count, for: weightType, into: destination)
        } else {
            Quantization.quantizeActivations(x, count: count, for: weightType, into: destination)
        }
    }

    /// For every weight row r in `rows` and activation row b in 0..<batch:
    ///   output[b * outputStride + r] = dot(weight row r, activation row b)
    /// Weight row r starts at weights + r * weightRowBytes; activation row b at activations + b * activationRowBytes
    /// (already quantized with `Quantization.quantizeActivations`); `columns` = elements per row.
    /// Single-threaded: the caller splits `rows` across threads. Each weight row is decoded once per
    /// group of four activation rows.
    ///
    /// Batch-invariant by construction: every kernel family gives an activation row the same
    /// instructions and summation order whatever else shares the batch (the one-row and multi-row
    /// loops of a family sum each row's blocks in the same order), so a token's logits never depend
    /// on how its prompt was chunked or which requests it was batched with. `BatchInvarianceTests`
    /// checks every type and layout bit for bit.
    public func matmul(
        weights: UnsafeRawPointer, weightRowBytes: Int, rows: Range<Int>, columns: Int,
        activations: UnsafeRawPointer, activationRowBytes: Int, batch: Int,
        output: UnsafeMutablePointer<Float>, outputStride: Int
    ) {
        precondition(columns % weightType.blockSize == 0, "matmul: \(columns) columns is not a multiple of \(weightType.name)'s block size")
        let job = MatmulJob(
            weights: weights, weightRowBytes: weightRowBytes, rows: rows, columns: columns,
            activations: activations, activationRowBytes: activationRowBytes, batch: batch,
            output: output, outputStride: outputStride)
        if rows.isEmpty || batch <= 0 { return }
        #if arch(x86_64)
        switch layout {
        case .interleaved8:
            Interleaved8AVX2.matmul(weightType.id, job)
            return
        case .rowMajor: break
        }
        if !isPortable {
            AVX2Kernels.matmul(weightType.id, job)
            return
        }
        #endif
        PortableKernels.matmul(weightType, job)
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
