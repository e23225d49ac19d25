import COpenBLAS
import Compute
import Quantization
import Tensors
import Threading

#if canImport(Glibc)
import Glibc
#endif

/// The CPU implementation of `TensorBackend`: host memory recycled by size, kernels written once
/// over `TensorScalar` (f32 and f64), split over Atelier's `ThreadPool`; GEMM is OpenBLAS.
///
/// OpenBLAS runs single-threaded inside each of our workers (each takes a block of output rows),
/// so one pool of threads serves every kernel, and the spin-waiting workers of two pools never
/// fight over the same cores. scripts/bench-train-vs-pytorch.sh measures the alternative.
public final class CPUTensorBackend: TensorBackend, @unchecked Sendable {
    // @unchecked: the pool runs one job at a time (kernels are called from one thread at a time,
    // the training loop's); the memory pool locks.
    public let name = "cpu"
    public let pool: ThreadPool
    let memory = HostMemoryPool()
    let ropeTables = RopeTableCache()
    /// Whether GEMMs split over the pool (OpenBLAS single-threaded) or run on OpenBLAS's threads.
    public let gemmThreading: GEMMThreading

    public enum GEMMThreading: String, Sendable {
        case pool, openBLAS
    }

    /// Call `requireBLAS()` first where a missing library should be an error message rather than a stop.
    /// Runs the frozen weights' forward kernels; its weights stay row-major in their stored type
    /// (the input-gradient tiles dequantize rows straight from them).
    public let inference: any ComputeBackend
    let inferenceCPU: CPUBackend
    /// How `frozenLinear` computes in f32.
    public let frozenForward: FrozenForward

    public enum FrozenForward: String, Sendable {
        /// The inference engine's kernels: activations rounded to 8-bit blocks and integer dot
        /// products, as llama.cpp runs the model — what the fine-tuned model will meet at run time.
        case quantizedKernels
        /// f32 GEMM on rows dequantized in cache-sized tiles: the exact product of the stored weights
        /// (what QLoRA computes: its 4-bit weights are dequantized for every matmul).
        case dequantized
        /// `dequantized` for products of at least `automaticRows` rows, the inference kernels below:
        /// dequantizing a tile costs about as much as multiplying it by a few dozen rows.
        case automatic

        /// Measured with `atelier finetune smollm2-135m --context T --batch 1 --threads 1` (docs/FINETUNING.md):
        /// the quantized kernels win at 8 and 16 tokens, the two tie at 32, GEMM wins from 64 on.
        public static let automaticRows = 32

        /// Whether a product of `rows` rows runs the inference kernels (else dequantized tiles).
        func usesQuantizedKernels(rows: Int) -> Bool {
            self == .quantizedKernels || self == .automatic && rows < Self.automaticRows
        }
    }

    /// How products with frozen weights' dequantized tiles compute in f32 training.
    public let frozenPrecision: ProductPrecision
    /// How the direct (stride-1) convolutions' products compute in f32 training.
    public let convolutionPrecision: ProductPrecision

    public init(
        threads: Int, gemmThreading: GEMMThreading = .pool, frozenForward: FrozenForward = .automatic,
        frozenPrecision: ProductPrecision = .float32, convolutionPrecision: ProductPrecision = .float32
    ) {
        precondition(
            frozenPrecision != .bfloat16 && convolutionPrecision != .bfloat16 || ProductPrecision.bfloat16Available,
            "bf16 products need a CPU with AVX512-BF16")
        self.frozenPrecision = frozenPrecision
        self.convolutionPrecision = convolutionPrecision
        pool = ThreadPool(threads: threads)
        inferenceCPU = CPUBackend(pool: pool, repacksWeights: false)
        inference = inferenceCPU
        self.frozenForward = frozenForward
        self.gemmThreading = gemmThreading
        do { try CPUTensorBackend.requireBLAS() } catch { preconditionFailure("\(error)") }
        atl_blas_set_threads(gemmThreading == .pool ? 1 : Int32(max(1, threads)))
    }

    /// Loads OpenBLAS (once); throws, saying how to install it, when it cannot be loaded.
    public static func requireBLAS() throws {
        var message = [CChar](repeating: 0, count: 512)
        guard atl_blas_load(&message, Int32(message.count)) == 0 else {
            throw BLASUnavailable(description: String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
    }

    /// The OpenBLAS kernel family in use ("SkylakeX", "Haswell", …).
    public static var blasCoreName: String { String(cString: atl_blas_core_name()) }

    /// Element-wise work below this many elements runs on the calling thread: waking workers costs more.
    static let parallelThreshold = 1 << 14

    // MARK: Memory

    /// A contiguous tensor with undefined contents (every kernel writes its whole output).
    func empty(_ shape: [Int], dtype: DType) -> Tensor {
        let count = shape.reduce(1, *)
        return Tensor(buffer: memory.buffer(byteCount: max(count, 1) * dtype.byteSize!), dtype: dtype, shape: shape)
    }

    public func zeros(_ shape: [Int], dtype: DType) -> Tensor {
        let tensor = empty(shape, dtype: dtype)
        memset(tensor.address, 0, tensor.count * tensor.elementSize)
        return tensor
    }

    public func upload(_ bytes: UnsafeRawBufferPointer, shape: [Int], dtype: DType) -> Tensor {
        let tensor = empty(shape, dtype: dtype)
        precondition(bytes.count == tensor.count * tensor.elementSize, "upload of \(bytes.count) bytes into \(shape) \(dtype)")
        if let base = bytes.baseAddress { tensor.address.copyMemory(from: base, byteCount: bytes.count) }
        return tensor
    }

    public func download(_ tensor: Tensor, into bytes: UnsafeMutableRawBufferPointer) {
        precondition(
            bytes.count == tensor.count * tensor.elementSize, "download of \(tensor.shape) \(tensor.dtype) into \(bytes.count) bytes")
        let dense = contiguous(tensor)
        if let base = bytes.baseAddress { base.copyMemory(from: dense.address, byteCount: bytes.count) }
    }

    /// `tensor` itself when already contiguous, else a contiguous copy.
    public func contiguous(_ tensor: Tensor) -> Tensor {
        if tensor.isContiguous { return tensor }
        let result = empty(tensor.shape, dtype: tensor.dtype)
        copy(tensor, into: result)
        return result
    }

    public func copy(_ source: Tensor, into destination: Tensor) {
        precondition(source.shape == destination.shape, "copy from \(source.shape) into \(destination.shape)")
        if source.dtype == destination.dtype, source.isContiguous, destination.isContiguous {
            destination.address.copyMemory(from: source.address, byteCount: source.count * source.elementSize)
            return
        }
        if source.dtype == destination.dtype, let size = source.dtype.byteSize {
            // Same type: a typed strided loop (the layout changes views need: transposes, slices, broadcasts).
            switch size {
            case 8: return stridedCopy(UInt64.self, source, destination)
            case 4: return stridedCopy(UInt32.self, source, destination)
            default: return stridedCopy(UInt16.self, source, destination)
            }
        }
        let rows = StridedRows(shape: source.shape, operands: [source, destination])
        let (sourceStride, destinationStride) = (rows.innerStride(0), rows.innerStride(1))
        let length = rows.rowLength
        let read = ElementReader(source), write = ElementWriter(destination)
        parallelRows(rows, elements: source.count) { range in
            rows.forEach(range) { _, starts in
                for i in 0..<length { write(starts[1] + i * destinationStride, read(starts[0] + i * sourceStride)) }
            }
        }
    }

    /// Copies elements bit for bit between layouts of one element type.
    private func stridedCopy<Bits: FixedWidthInteger>(_: Bits.Type, _ source: Tensor, _ destination: Tensor) {
        let rows = StridedRows(shape: source.shape, operands: [source, destination])
        let (sourceStride, destinationStride, length) = (rows.innerStride(0), rows.innerStride(1), rows.rowLength)
        let from = source.buffer.address.assumingMemoryBound(to: Bits.self)
        let to = destination.buffer.address.assumingMemoryBound(to: Bits.self)
        parallelRows(rows, elements: source.count) { range in
            rows.forEach(range) { _, starts in
                let (u, v) = (from + starts[0], to + starts[1])
                if sourceStride == 1 && destinationStride == 1 {
                    v.update(from: u, count: length)
                } else {
                    for i in 0..<length { v[i * destinationStride] = u[i * sourceStride] }
                }
            }
        }
    }

    public func fill(_ tensor: Tensor, with value: Double) {
        let rows = StridedRows(shape: tensor.shape, operands: [tensor])
        let step = rows.innerStride(0), length = rows.rowLength
        let write = ElementWriter(tensor)
        rows.forEach(0..<rows.rowCount) { _, starts in
            for i in 0..<length { write(starts[0] + i * step, value) }
        }
    }

    /// Splits the rows of a strided walk over the pool when the work is large enough.
    func parallelRows(_ rows: StridedRows, elements: Int, _ body: (Range<Int>) -> Void) {
        if elements < CPUTensorBackend.parallelThreshold {
            body(0..<rows.rowCount)
        } else {
            pool.parallelFor(rows.rowCount, body)
        }
    }

    /// Splits `0..<count` over the pool when `elements` of work justify waking it.
    func parallel(_ count: Int, elements: Int, _ body: (Range<Int>) -> Void) {
        if elements < CPUTensorBackend.parallelThreshold {
            body(0..<count)
        } else {
            pool.parallelFor(count, body)
        }
    }
}

public struct BLASUnavailable: Error, CustomStringConvertible {
    public let description: String
}

/// Reads element i of a tensor (element index into its buffer) as a Double, whatever its dtype:
/// the slow, general path for copies between dtypes and strided layouts.
struct ElementReader {
    let read: (Int) -> Double
    init(_ tensor: Tensor) {
        let base = tensor.buffer.address
        switch tensor.dtype {
        case .f32:
            let p = base.assumingMemoryBound(to: Float.self)
            read = { Double(p[$0]) }
        case .f64:
            let p = base.assumingMemoryBound(to: Double.self)
            read = { p[$0] }
        case .f16:
            let p = base.assumingMemoryBound(to: Float16.self)
            read = { Double(p[$0]) }
        case .bf16:
            let p = base.assumingMemoryBound(to: UInt16.self)
            read = { Double(bf16ToFloat(p[$0])) }
        case .i32:
            let p = base.assumingMemoryBound(to: Int32.self)
            read = { Double(p[$0]) }
        case .blockQuantized(let type):
            preconditionFailure("\(type) tensors are not element-addressable")
        }
    }
    @inline(__always) func callAsFunction(_ index: Int) -> Double { read(index) }
}

struct ElementWriter {
    let write: (Int, Double) -> Void
    init(_ tensor: Tensor) {
        let base = tensor.buffer.address
        switch tensor.dtype {
        case .f32:
            let p = base.assumingMemoryBound(to: Float.self)
            write = { p[$0] = Float($1) }
        case .f64:
            let p = base.assumingMemoryBound(to: Double.self)
            write = { p[$0] = $1 }
        case .f16:
            let p = base.assumingMemoryBound(to: Float16.self)
            write = { p[$0] = Float16($1) }
        case .bf16:
            let p = base.assumingMemoryBound(to: UInt16.self)
            write = { p[$0] = floatToBF16(Float($1)) }
        case .i32:
            let p = base.assumingMemoryBound(to: Int32.self)
            write = { p[$0] = Int32($1) }
        case .blockQuantized(let type):
            preconditionFailure("\(type) tensors are not element-addressable")
        }
    }
    @inline(__always) func callAsFunction(_ index: Int, _ value: Double) { write(index, value) }
}
