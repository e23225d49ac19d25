/// An n-dimensional array in a backend's memory: a buffer, an element type, and a layout (shape,
/// strides and offset in elements). Views — reshape of a contiguous tensor, transpose, slice,
/// broadcast — share the buffer and cost no copy; a backend makes a contiguous copy when a kernel
/// needs one. The CPU backend's buffers are host memory; a GPU backend's hold device addresses.
public struct Tensor: @unchecked Sendable {
    // @unchecked: the buffer is written only by kernels its backend runs, one op at a time.
    public let buffer: DeviceBuffer
    public let dtype: DType
    public let shape: [Int]
    /// Elements to step per index of each axis; 0 on a broadcast axis.
    public let strides: [Int]
    /// Elements from the start of `buffer` to element [0, 0, …].
    public let offset: Int

    public init(buffer: DeviceBuffer, dtype: DType, shape: [Int], strides: [Int]? = nil, offset: Int = 0) {
        precondition(dtype.byteSize != nil, "a \(dtype) tensor is not element-addressable")
        precondition(shape.allSatisfy { $0 >= 0 }, "negative dimension in \(shape)")
        self.buffer = buffer
        self.dtype = dtype
        self.shape = shape
        self.strides = strides ?? Tensor.contiguousStrides(shape)
        self.offset = offset
        precondition(self.strides.count == shape.count, "strides \(self.strides) do not match shape \(shape)")
        precondition(self.lastElement < 0 || (self.lastElement + 1) * dtype.byteSize! <= buffer.byteCount, "tensor larger than its buffer")
    }

    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var step = 1
        for axis in shape.indices.reversed() {
            strides[axis] = step
            step *= shape[axis]
        }
        return strides
    }

    public var rank: Int { shape.count }
    public var count: Int { shape.reduce(1, *) }
    public var elementSize: Int { dtype.byteSize! }

    /// Row-major and dense: element i lives at `offset + i`.
    public var isContiguous: Bool { strides == Tensor.contiguousStrides(shape) || count <= 1 }

    /// The highest element index the layout reaches (-1 for an empty tensor).
    var lastElement: Int {
        if shape.contains(0) { return -1 }
        return offset + zip(shape, strides).reduce(0) { $0 + ($1.0 - 1) * $1.1 }
    }

    /// Address of element [0, 0, …] (host memory for the CPU backend).
    public var address: UnsafeMutableRawPointer { buffer.address + offset * elementSize }

    /// Resolves a negative axis (-1 = last).
    public func axis(_ axis: Int) -> Int {
        let resolved = axis < 0 ? axis + rank : axis
        precondition(resolved >= 0 && resolved < rank, "axis \(axis) out of range for shape \(shape)")
        return resolved
    }

    /// The same elements in a new shape (one dimension may be -1). Requires a contiguous tensor;
    /// call the backend's `contiguous` first otherwise.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(isContiguous, "reshape of a non-contiguous tensor \(shape) strides \(strides)")
        var resolved = newShape
        if let hole = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != hole }.reduce(1) { $0 * $1.element }
            resolved[hole] = known == 0 ? 0 : count / known
        }
        precondition(resolved.reduce(1, *) == count, "cannot reshape \(shape) to \(newShape)")
        return Tensor(buffer: buffer, dtype: dtype, shape: resolved, offset: offset)
    }

    /// Swaps two axes (a view).
    public func transposed(_ a: Int, _ b: Int) -> Tensor {
        let (a, b) = (axis(a), axis(b))
        var shape = self.shape
        var strides = self.strides
        shape.swapAt(a, b)
        strides.swapAt(a, b)
        return Tensor(buffer: buffer, dtype: dtype, shape: shape, strides: strides, offset: offset)
    }

    /// Reorders the axes: result axis i is this tensor's axis `order[i]` (a view).
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.sorted() == Array(0..<rank), "\(order) is not a permutation of \(rank) axes")
        return Tensor(buffer: buffer, dtype: dtype, shape: order.map { shape[$0] }, strides: order.map { strides[$0] }, offset: offset)
    }

    /// Indices `range` along `axis` (a view).
    public func sliced(axis: Int, _ range: Range<Int>) -> Tensor {
        let axis = self.axis(axis)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[axis], "slice \(range) out of 0..<\(shape[axis])")
        var shape = self.shape
        shape[axis] = range.count
        return Tensor(buffer: buffer, dtype: dtype, shape: shape, strides: strides, offset: offset + range.lowerBound * strides[axis])
    }

    /// Broadcasts to `target` (numpy rules: align trailing axes; size-1 axes stretch with stride 0).
    public func broadcast(to target: [Int]) -> Tensor {
        precondition(Tensor.broadcastShape(shape, target) == target, "cannot broadcast \(shape) to \(target)")
        let lead = target.count - rank
        var strides = [Int](repeating: 0, count: target.count)
        for axis in 0..<rank where shape[axis] != 1 || target[lead + axis] == 1 {
            strides[lead + axis] = self.strides[axis]
        }
        return Tensor(buffer: buffer, dtype: dtype, shape: target, strides: strides, offset: offset)
    }

    /// The shape two operands broadcast to, or nil when they are incompatible.
    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        var result = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            guard x == y || x == 1 || y == 1 else { return nil }
            result[i] = x == 1 ? y : x
        }
        return result
    }
}
