import GGUF
import Quantization
import Tensors

#if canImport(Glibc)
import Glibc
#endif

/// A row-major f32 matrix (`rows` × `columns`) in a backend's memory: activations, one row
/// per token. It may be a view of some rows of a larger buffer (`offset` bytes in).
public struct Matrix: @unchecked Sendable {
    public let buffer: DeviceBuffer
    /// Bytes from the start of `buffer` to row 0.
    public let offset: Int
    public let rows: Int
    public let columns: Int

    public init(buffer: DeviceBuffer, offset: Int = 0, rows: Int, columns: Int) {
        precondition(offset >= 0 && offset + rows * columns * 4 <= buffer.byteCount, "matrix larger than its buffer")
        self.buffer = buffer
        self.offset = offset
        self.rows = rows
        self.columns = columns
    }

    /// The first `rows` rows, sharing storage (a batch shorter than the buffer's capacity).
    public func prefix(rows: Int) -> Matrix { Matrix(buffer: buffer, offset: offset, rows: rows, columns: columns) }

    /// Rows `range`, sharing storage (one sequence's rows in a batch of several). A view costs no
    /// allocation: a server's pass takes four per sequence per layer.
    public func rows(_ range: Range<Int>) -> Matrix {
        Matrix(buffer: buffer, offset: offset + range.lowerBound * columns * 4, rows: range.count, columns: columns)
    }

    /// Address of row 0 (host memory for the CPU backend, a device address for a GPU backend).
    public var address: UnsafeMutableRawPointer { buffer.address + offset }
    /// Host pointer to the first element (CPU backend only).
    public var floats: UnsafeMutablePointer<Float> { address.assumingMemoryBound(to: Float.self) }
    public func row(_ r: Int) -> UnsafeMutablePointer<Float> { floats + r * columns }
}

extension Matrix {
    /// The matrix as a 2-D f32 tensor over the same buffer (a view: no copy).
    public var tensor: Tensor {
        Tensor(buffer: buffer, dtype: .f32, shape: [rows, columns], offset: offset / MemoryLayout<Float>.size)
    }

    /// A view of a contiguous 2-D f32 tensor as a matrix.
    public init(_ tensor: Tensor) {
        precondition(
            tensor.dtype == .f32 && tensor.rank == 2 && tensor.isContiguous,
            "a matrix is a contiguous 2-D f32 tensor, not \(tensor.dtype) \(tensor.shape)")
        self.init(buffer: tensor.buffer, offset: tensor.offset * MemoryLayout<Float>.size, rows: tensor.shape[0], columns: tensor.shape[1])
    }
}

/// A weight tensor as a backend holds it: `rows` rows of `columns` elements of `type`.
/// A 1-D tensor (a norm weight) is one row.
public struct Weight: @unchecked Sendable {
    public let name: String
    public let type: GGMLType
    public let rows: Int
    public let columns: Int
    public let rowBytes: Int
    /// Host pointer into the memory-mapped file (CPU) or a device address (GPU).
    public let data: UnsafeRawPointer
    /// Keeps the mapping or the device allocation alive.
    public let owner: AnyObject
    /// How the backend arranged the rows (`rowBytes` is always the size of one original row).
    public let layout: WeightLayout

    public init(
        name: String, type: GGMLType, rows: Int, columns: Int, rowBytes: Int, data: UnsafeRawPointer, owner: AnyObject,
        layout: WeightLayout = .rowMajor
    ) {
        self.name = name
        self.type = type
        self.rows = rows
        self.columns = columns
        self.rowBytes = rowBytes
        self.data = data
        self.owner = owner
        self.layout = layout
    }

    public var byteCount: Int { rows * rowBytes }

    /// The element type in the shared `DType` vocabulary (block-quantized types included).
    public var dtype: DType? { DType(ggml: type) }
}

public enum KVCacheType: String, Sendable, CaseIterable {
    case f16, f32
    public var bytesPerElement: Int { self == .f16 ? 2 : 4 }
}

/// Keys and values of every layer. Layer `l` keeps `capacity[l]` positions of `width`
/// elements each; a layer whose capacity is smaller than the context (sliding-window
/// attention) uses its cells as a ring: position `p` lives in cell `p % capacity`.
public final class KVCache: @unchecked Sendable {
    public let type: KVCacheType
    public let width: Int
    public let contextLength: Int
    public let capacity: [Int]
    public let keys: [DeviceBuffer]
    public let values: [DeviceBuffer]

    /// Callers size the cache first with `byteCount(type:width:capacity:)` (or
    /// `ComputeBackend.makeCheckedKVCache`), which reports an overflowing size instead of trapping.
    public init(type: KVCacheType, width: Int, contextLength: Int, capacity: [Int], allocate: (Int) -> DeviceBuffer) {
        precondition(Self.byteCount(type: type, width: width, capacity: capacity) != nil, "KV cache size overflows; check byteCount first")
        self.type = type
        self.width = width
        self.contextLength = contextLength
        self.capacity = capacity
        keys = capacity.map { allocate($0 * width * type.bytesPerElement) }
        values = capacity.map { allocate($0 * width * type.bytesPerElement) }
    }

    /// Bytes of keys and values for `capacity` cells per layer of `width` elements, or nil when a
    /// count is negative or the total does not fit in an `Int` (a hostile or mistyped context length).
    public static func byteCount(type: KVCacheType, width: Int, capacity: [Int]) -> Int? {
        guard width >= 0 else { return nil }
        var total = 0
        for cells in capacity {
            guard cells >= 0, let layer = CheckedSize.product(cells, width, type.bytesPerElement, 2),
                let sum = CheckedSize.sum(total, layer)
            else { return nil }
            total = sum
        }
        return total
    }

    public var layerCount: Int { capacity.count }
    public var byteCount: Int { (keys + values).reduce(0) { $0 + $1.byteCount } }
    public func cell(layer: Int, position: Int) -> Int { position % capacity[layer] }
}

public enum RopeStyle: Sendable {
    /// Adjacent pairs (x[2i], x[2i+1]): GGUF llama and mistral.
    case interleaved
    /// Halves (x[i], x[i + n/2]): NeoX, Qwen2, Gemma, HF-layout Llama.
    case neox
}

public struct RopeParameters: Sendable {
    public var style: RopeStyle
    /// Rotated dimensions per head (the rest pass through).
    public var dimensions: Int
    public var base: Float
    /// Linear scaling: positions are multiplied by this (1 / rope.scaling.factor).
    public var frequencyScale: Float = 1
    /// Per-pair divisors (Llama 3.1 `rope_freqs.weight`), host memory, `dimensions / 2` values.
    public var frequencyFactors: [Float]?

    public init(style: RopeStyle, dimensions: Int, base: Float, frequencyScale: Float = 1, frequencyFactors: [Float]? = nil) {
        self.style = style
        self.dimensions = dimensions
        self.base = base
        self.frequencyScale = frequencyScale
        self.frequencyFactors = frequencyFactors
    }
}

/// Shape of one attention call.
public struct AttentionShape: Sendable {
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var scale: Float
    /// Sliding window: a key at position k is visible from query position q iff q − k < window.
    public var window: Int?

    public init(heads: Int, kvHeads: Int, headDim: Int, scale: Float, window: Int? = nil) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.scale = scale
        self.window = window
    }
}

/// One sequence's rows in a batched attention call: its queries (positions `firstPosition…`),
/// its cache, and where its outputs go.
public struct AttentionSpan {
    public var queries: Matrix
    public var cache: KVCache
    public var firstPosition: Int
    public var output: Matrix

    public init(queries: Matrix, cache: KVCache, firstPosition: Int, output: Matrix) {
        self.queries = queries
        self.cache = cache
        self.firstPosition = firstPosition
        self.output = output
    }
}
/// Byte counts computed from values a file or a user chose (context lengths, widths, slot counts):
/// nil instead of a trap when the arithmetic leaves `Int`.
public enum CheckedSize {
    public static func product(_ factors: Int...) -> Int? {
        var result = 1
        for factor in factors {
            guard factor >= 0 else { return nil }
            let (value, overflow) = result.multipliedReportingOverflow(by: factor)
            if overflow { return nil }
            result = value
        }
        return result
    }

    public static func sum(_ terms: Int...) -> Int? {
        var result = 0
        for term in terms {
            guard term >= 0 else { return nil }
            let (value, overflow) = result.addingReportingOverflow(term)
            if overflow { return nil }
            result = value
        }
        return result
    }
}

extension ComputeBackend {
    /// `makeKVCache` for sizes that come from a file or a user: nil, instead of a trap, when the
    /// cache's byte count does not fit in an `Int`.
    public func makeCheckedKVCache(type: KVCacheType, width: Int, contextLength: Int, capacity: [Int]) -> KVCache? {
        guard KVCache.byteCount(type: type, width: width, capacity: capacity) != nil else { return nil }
        return makeKVCache(type: type, width: width, contextLength: contextLength, capacity: capacity)
    }
}
