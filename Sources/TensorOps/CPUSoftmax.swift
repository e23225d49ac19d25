import Tensors

/// Softmax over the last axis and its backward, on the CPU.
extension CPUTensorBackend {
    public func softmax(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 1, "softmax of a scalar")
        return dispatch(x.dtype, "softmax", f32: { softmaxKernel(Float.self, x) }, f64: { softmaxKernel(Double.self, x) })
    }

    /// Each row is shifted by its maximum before exponentiating, so no exponent overflows.
    func softmaxKernel<T: TensorScalar>(_: T.Type, _ x: Tensor) -> Tensor {
        let input = contiguous(x)
        let result = empty(x.shape, dtype: x.dtype)
        let width = x.shape[x.rank - 1]
        let rows = width == 0 ? 0 : x.count / width
        let (px, po) = (input.address.assumingMemoryBound(to: T.self), result.address.assumingMemoryBound(to: T.self))
        parallel(rows, elements: x.count) { range in
            for row in range {
                let (u, o) = (px + row * width, po + row * width)
                let largest = RowReduction.maximum(u, count: width)
                if T.self == Float.self {
                    VectorRows.scaledExponentials(
                        VectorRows.floats(u), VectorRows.floats(o), count: width, shift: Float(largest), factor: 1)
                } else {
                    for i in 0..<width { o[i] = T.exponential(u[i] - largest) }
                }
                let inverse = 1 / RowReduction.sum(o, count: width)
                for i in 0..<width { o[i] *= inverse }
            }
        }
        return result
    }

    public func softmaxBackward(gradient: Tensor, output: Tensor) -> Tensor {
        precondition(gradient.shape == output.shape && output.rank >= 1, "softmax gradient \(gradient.shape) for output \(output.shape)")
        return dispatch(
            output.dtype, "softmaxBackward", f32: { softmaxBackwardKernel(Float.self, gradient, output) },
            f64: { softmaxBackwardKernel(Double.self, gradient, output) })
    }

    /// dx = y ⊙ (g − Σ g⊙y) per row.
    func softmaxBackwardKernel<T: TensorScalar>(_: T.Type, _ gradient: Tensor, _ output: Tensor) -> Tensor {
        let (g, y) = (contiguous(gradient), contiguous(output))
        let result = empty(output.shape, dtype: output.dtype)
        let width = output.shape[output.rank - 1]
        let rows = width == 0 ? 0 : output.count / width
        let (pg, py) = (g.address.assumingMemoryBound(to: T.self), y.address.assumingMemoryBound(to: T.self))
        let po = result.address.assumingMemoryBound(to: T.self)
        parallel(rows, elements: output.count) { range in
            for row in range {
                let (gr, yr, o) = (pg + row * width, py + row * width, po + row * width)
                let projection = RowReduction.dot(gr, yr, count: width)
                for i in 0..<width { o[i] = yr[i] * (gr[i] - projection) }
            }
        }
        return result
    }
}
