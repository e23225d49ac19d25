import Tensors

#if canImport(Glibc)
import Glibc
#endif

/// Element-wise operations, reductions, concatenation and the optimizer updates on the CPU.
extension CPUTensorBackend {
    /// Runs the f32 or the f64 instance of a kernel written once over `TensorScalar`.
    func dispatch<R>(_ dtype: DType, _ operation: String, f32: () -> R, f64: () -> R) -> R {
        switch dtype {
        case .f32: return f32()
        case .f64: return f64()
        default: preconditionFailure("\(operation) computes in f32 or f64, not \(dtype)")
        }
    }

    public func binary(_ operation: BinaryOperation, _ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.dtype == b.dtype, "\(operation) of \(a.dtype) and \(b.dtype)")
        return dispatch(
            a.dtype, "\(operation)", f32: { binaryKernel(Float.self, operation, a, b) }, f64: { binaryKernel(Double.self, operation, a, b) }
        )
    }

    func binaryKernel<T: TensorScalar>(_: T.Type, _ operation: BinaryOperation, _ a: Tensor, _ b: Tensor) -> Tensor {
        guard let shape = Tensor.broadcastShape(a.shape, b.shape) else {
            preconditionFailure("\(operation): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        let result = empty(shape, dtype: a.dtype)
        if a.shape == b.shape && a.isContiguous && b.isContiguous {
            // The common case (residual adds, products of equal shapes): one flat vectorisable loop.
            let (u, v, o) = (
                a.address.assumingMemoryBound(to: T.self), b.address.assumingMemoryBound(to: T.self),
                result.address.assumingMemoryBound(to: T.self)
            )
            parallel(result.count, elements: result.count) { range in
                switch operation {
                case .add: for i in range { o[i] = u[i] + v[i] }
                case .subtract: for i in range { o[i] = u[i] - v[i] }
                case .multiply: for i in range { o[i] = u[i] * v[i] }
                case .divide: for i in range { o[i] = u[i] / v[i] }
                }
            }
            return result
        }
        let (x, y) = (a.broadcast(to: shape), b.broadcast(to: shape))
        let rows = StridedRows(shape: shape, operands: [x, y])
        let (sx, sy, length) = (rows.innerStride(0), rows.innerStride(1), rows.rowLength)
        let (px, py) = (x.buffer.address.assumingMemoryBound(to: T.self), y.buffer.address.assumingMemoryBound(to: T.self))
        let out = result.address.assumingMemoryBound(to: T.self)
        parallelRows(rows, elements: result.count) { range in
            rows.forEach(range) { row, starts in
                let (u, v, o) = (px + starts[0], py + starts[1], out + row * length)
                switch operation {
                case .add: for i in 0..<length { o[i] = u[i * sx] + v[i * sy] }
                case .subtract: for i in 0..<length { o[i] = u[i * sx] - v[i * sy] }
                case .multiply: for i in 0..<length { o[i] = u[i * sx] * v[i * sy] }
                case .divide: for i in 0..<length { o[i] = u[i * sx] / v[i * sy] }
                }
            }
        }
        return result
    }

    public func unary(_ operation: UnaryOperation, _ x: Tensor) -> Tensor {
        dispatch(x.dtype, "\(operation)", f32: { unaryKernel(Float.self, operation, x) }, f64: { unaryKernel(Double.self, operation, x) })
    }

    func unaryKernel<T: TensorScalar>(_: T.Type, _ operation: UnaryOperation, _ x: Tensor) -> Tensor {
        let input = contiguous(x)
        let result = empty(x.shape, dtype: x.dtype)
        let (p, o) = (input.address.assumingMemoryBound(to: T.self), result.address.assumingMemoryBound(to: T.self))
        parallel(x.count, elements: x.count) { range in
            switch operation {
            case .negate: for i in range { o[i] = -p[i] }
            case .exp: for i in range { o[i] = T.exponential(p[i]) }
            case .log: for i in range { o[i] = T.logarithm(p[i]) }
            case .sqrt: for i in range { o[i] = T.squareRoot(p[i]) }
            case .square: for i in range { o[i] = p[i] * p[i] }
            case .tanh: for i in range { o[i] = T.hyperbolicTangent(p[i]) }
            case .reciprocal: for i in range { o[i] = 1 / p[i] }
            }
        }
        return result
    }

    public func unaryBackward(_ operation: UnaryOperation, gradient: Tensor, input: Tensor, output: Tensor) -> Tensor {
        dispatch(
            input.dtype, "\(operation) backward",
            f32: { unaryBackwardKernel(Float.self, operation, gradient, input, output) },
            f64: { unaryBackwardKernel(Double.self, operation, gradient, input, output) })
    }

    func unaryBackwardKernel<T: TensorScalar>(_: T.Type, _ operation: UnaryOperation, _ gradient: Tensor, _ input: Tensor, _ output: Tensor)
        -> Tensor
    {
        let (g, x, y) = (contiguous(gradient), contiguous(input), contiguous(output))
        let result = empty(input.shape, dtype: input.dtype)
        let (pg, px, py) = (
            g.address.assumingMemoryBound(to: T.self), x.address.assumingMemoryBound(to: T.self), y.address.assumingMemoryBound(to: T.self)
        )
        let o = result.address.assumingMemoryBound(to: T.self)
        parallel(input.count, elements: input.count) { range in
            switch operation {
            case .negate: for i in range { o[i] = -pg[i] }
            case .exp: for i in range { o[i] = pg[i] * py[i] }
            case .log: for i in range { o[i] = pg[i] / px[i] }
            case .sqrt: for i in range { o[i] = pg[i] / (2 * py[i]) }
            case .square: for i in range { o[i] = 2 * pg[i] * px[i] }
            case .tanh: for i in range { o[i] = pg[i] * (1 - py[i] * py[i]) }
            case .reciprocal: for i in range { o[i] = -pg[i] * py[i] * py[i] }
            }
        }
        return result
    }

    public func scale(_ x: Tensor, by factor: Double) -> Tensor {
        dispatch(x.dtype, "scale", f32: { scaleKernel(Float.self, x, factor) }, f64: { scaleKernel(Double.self, x, factor) })
    }

    func scaleKernel<T: TensorScalar>(_: T.Type, _ x: Tensor, _ factor: Double) -> Tensor {
        let input = contiguous(x)
        let result = empty(x.shape, dtype: x.dtype)
        let (p, o, s) = (input.address.assumingMemoryBound(to: T.self), result.address.assumingMemoryBound(to: T.self), T(factor))
        parallel(x.count, elements: x.count) { range in for i in range { o[i] = p[i] * s } }
        return result
    }

    public func accumulate(_ x: Tensor, into accumulator: Tensor, factor: Double) {
        precondition(
            accumulator.isContiguous && x.shape == accumulator.shape && x.dtype == accumulator.dtype,
            "accumulate \(x.shape) \(x.dtype) into \(accumulator.shape) \(accumulator.dtype)")
        dispatch(
            x.dtype, "accumulate", f32: { accumulateKernel(Float.self, x, accumulator, factor) },
            f64: { accumulateKernel(Double.self, x, accumulator, factor) })
    }

    func accumulateKernel<T: TensorScalar>(_: T.Type, _ x: Tensor, _ accumulator: Tensor, _ factor: Double) {
        let rows = StridedRows(shape: x.shape, operands: [x])
        let (sx, length) = (rows.innerStride(0), rows.rowLength)
        let (px, o, s) = (x.buffer.address.assumingMemoryBound(to: T.self), accumulator.address.assumingMemoryBound(to: T.self), T(factor))
        parallelRows(rows, elements: x.count) { range in
            rows.forEach(range) { row, starts in
                let (u, a) = (px + starts[0], o + row * length)
                if s == 1 {
                    for i in 0..<length { a[i] += u[i * sx] }
                } else {
                    for i in 0..<length { a[i] += s * u[i * sx] }
                }
            }
        }
    }

    public func sum(_ x: Tensor, axes: [Int]) -> Tensor {
        dispatch(x.dtype, "sum", f32: { sumKernel(Float.self, x, axes) }, f64: { sumKernel(Double.self, x, axes) })
    }

    /// Sums by walking the input once and adding each element into its output cell; the output's
    /// layout is the input's shape with stride 0 on the summed axes. Accumulates in f64 for f32 inputs
    /// when the whole tensor reduces to one number (a loss, a norm): that sum is the long one.
    func sumKernel<T: TensorScalar>(_: T.Type, _ x: Tensor, _ axes: [Int]) -> Tensor {
        let reduced = Set(axes.map { x.axis($0) })
        let outShape = x.shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
        let result = zeros(outShape, dtype: x.dtype)
        let o = result.address.assumingMemoryBound(to: T.self)
        let resultStrides = result.strides.enumerated().map { reduced.contains($0.offset) ? 0 : $0.element }
        let target = Tensor(buffer: result.buffer, dtype: result.dtype, shape: x.shape, strides: resultStrides, offset: 0)
        let rows = StridedRows(shape: x.shape, operands: [x, target])
        let (sx, so, length) = (rows.innerStride(0), rows.innerStride(1), rows.rowLength)
        let px = x.buffer.address.assumingMemoryBound(to: T.self)
        if result.count == 1 {
            var total = 0.0
            rows.forEach(0..<rows.rowCount) { _, starts in
                var partial = T(0)
                for i in 0..<length { partial += px[starts[0] + i * sx] }
                total += Double(partial)
            }
            o[0] = T(total)
            return result
        }
        // Rows reduced into distinct outputs can run in parallel only when no two rows share an
        // output cell; keep the general walk serial and let the caller's shapes stay small.
        rows.forEach(0..<rows.rowCount) { _, starts in
            if so == 0 {
                var partial = T(0)
                for i in 0..<length { partial += px[starts[0] + i * sx] }
                o[starts[1]] += partial
            } else {
                for i in 0..<length { o[starts[1] + i * so] += px[starts[0] + i * sx] }
            }
        }
        return result
    }

    public func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concat of no tensors")
        let first = tensors[0]
        let axis = first.axis(axis)
        var shape = first.shape
        shape[axis] = 0
        for tensor in tensors {
            precondition(
                tensor.rank == first.rank && tensor.dtype == first.dtype, "concat of \(tensor.shape) \(tensor.dtype) with \(first.shape)")
            for i in 0..<first.rank where i != axis {
                precondition(tensor.shape[i] == first.shape[i], "concat along axis \(axis): \(tensor.shape) vs \(first.shape)")
            }
            shape[axis] += tensor.shape[axis]
        }
        let result = empty(shape, dtype: first.dtype)
        var start = 0
        for tensor in tensors {
            copy(tensor, into: result.sliced(axis: axis, start..<(start + tensor.shape[axis])))
            start += tensor.shape[axis]
        }
        return result
    }

    // MARK: Optimizers

    public func squaredNorm(_ x: Tensor) -> Double {
        dispatch(x.dtype, "squaredNorm", f32: { squaredNormKernel(Float.self, x) }, f64: { squaredNormKernel(Double.self, x) })
    }

    func squaredNormKernel<T: TensorScalar>(_: T.Type, _ x: Tensor) -> Double {
        let input = contiguous(x)
        let p = input.address.assumingMemoryBound(to: T.self)
        var total = 0.0
        var start = 0
        while start < x.count {
            let end = min(x.count, start + 4096)
            var partial = T(0)
            for i in start..<end { partial += p[i] * p[i] }
            total += Double(partial)
            start = end
        }
        return total
    }

    public func adamW(parameter: Tensor, gradient: Tensor, firstMoment: Tensor, secondMoment: Tensor, step: AdamWStep) {
        precondition(parameter.isContiguous && firstMoment.isContiguous && secondMoment.isContiguous, "AdamW on non-contiguous state")
        dispatch(
            parameter.dtype, "adamW",
            f32: { adamWKernel(Float.self, parameter, contiguous(gradient), firstMoment, secondMoment, step) },
            f64: { adamWKernel(Double.self, parameter, contiguous(gradient), firstMoment, secondMoment, step) })
    }

    /// θ ← θ − lr·wd·θ, then θ ← θ − lr · m̂ / (√v̂ + ε) (Loshchilov & Hutter; PyTorch's AdamW order).
    func adamWKernel<T: TensorScalar>(
        _: T.Type, _ parameter: Tensor, _ gradient: Tensor, _ first: Tensor, _ second: Tensor, _ step: AdamWStep
    ) {
        let (p, g) = (parameter.address.assumingMemoryBound(to: T.self), gradient.address.assumingMemoryBound(to: T.self))
        let (m, v) = (first.address.assumingMemoryBound(to: T.self), second.address.assumingMemoryBound(to: T.self))
        let (b1, b2) = (T(step.beta1), T(step.beta2))
        let correction1 = 1 - pow(step.beta1, Double(step.step))
        let correction2 = 1 - pow(step.beta2, Double(step.step))
        let stepSize = T(step.learningRate / correction1)
        let decay = T(1 - step.learningRate * step.weightDecay)
        let (root2, epsilon) = (T(correction2.squareRoot()), T(step.epsilon))
        parallel(parameter.count, elements: parameter.count) { range in
            var i = range.lowerBound
            if T.self == Float.self {
                // Eight lanes at a time, the same operations in the same order as the loop below (the
                // compiler does not vectorise it: the four pointers might alias).
                let (b1, b2, decay, stepSize) = (
                    SIMD8<T>(repeating: b1), SIMD8<T>(repeating: b2), SIMD8<T>(repeating: decay), SIMD8<T>(repeating: stepSize)
                )
                let (root2, epsilon) = (SIMD8<T>(repeating: root2), SIMD8<T>(repeating: epsilon))
                func load(_ q: UnsafeMutablePointer<T>) -> SIMD8<T> { UnsafeRawPointer(q + i).loadUnaligned(as: SIMD8<T>.self) }
                func store(_ x: SIMD8<T>, _ q: UnsafeMutablePointer<T>) {
                    UnsafeMutableRawPointer(q + i).storeBytes(of: x, as: SIMD8<T>.self)
                }
                while i + 8 <= range.upperBound {
                    let gi = load(g)
                    let mi = b1 * load(m) + (1 - b1) * gi
                    let vi = b2 * load(v) + (1 - b2) * gi * gi
                    let denominator = vi.squareRoot() / root2 + epsilon
                    store(mi, m)
                    store(vi, v)
                    store(load(p) * decay - stepSize * mi / denominator, p)
                    i += 8
                }
            }
            for i in i..<range.upperBound {
                m[i] = b1 * m[i] + (1 - b1) * g[i]
                v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
                let denominator = T.squareRoot(v[i]) / root2 + epsilon
                p[i] = p[i] * decay - stepSize * m[i] / denominator
            }
        }
    }

    public func sgd(parameter: Tensor, gradient: Tensor, velocity: Tensor?, step: SGDStep) {
        precondition(parameter.isContiguous && (velocity?.isContiguous ?? true), "SGD on non-contiguous state")
        dispatch(
            parameter.dtype, "sgd",
            f32: { sgdKernel(Float.self, parameter, contiguous(gradient), velocity, step) },
            f64: { sgdKernel(Double.self, parameter, contiguous(gradient), velocity, step) })
    }

    /// PyTorch's SGD: g' = g + wd·θ; v = μ·v + g'; θ -= lr·(nesterov ? g' + μ·v : v).
    func sgdKernel<T: TensorScalar>(_: T.Type, _ parameter: Tensor, _ gradient: Tensor, _ velocity: Tensor?, _ step: SGDStep) {
        let (p, g) = (parameter.address.assumingMemoryBound(to: T.self), gradient.address.assumingMemoryBound(to: T.self))
        let v = velocity?.address.assumingMemoryBound(to: T.self)
        let (lr, mu, wd) = (T(step.learningRate), T(step.momentum), T(step.weightDecay))
        let nesterov = step.nesterov
        parallel(parameter.count, elements: parameter.count) { range in
            for i in range {
                let decayed = g[i] + wd * p[i]
                guard let v else {
                    p[i] -= lr * decayed
                    continue
                }
                v[i] = mu * v[i] + decayed
                p[i] -= lr * (nesterov ? decayed + mu * v[i] : v[i])
            }
        }
    }
}
