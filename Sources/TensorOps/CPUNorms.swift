import Tensors
import Threading

/// RMSNorm and LayerNorm over the last axis, forward and backward, on the CPU.
///
/// Rows split over the pool. The weight (and bias) gradients sum over rows: each worker sums its
/// band of rows into its own partial row, and the partials add up in a fixed order afterwards, so
/// the result does not depend on timing.
extension CPUTensorBackend {
    public func rmsNorm(_ x: Tensor, weight: Tensor, epsilon: Double) -> (output: Tensor, inverseRMS: Tensor) {
        checkNormOperands("rmsNorm", x, weight)
        return dispatch(
            x.dtype, "rmsNorm", f32: { rmsNormKernel(Float.self, x, weight, epsilon) },
            f64: { rmsNormKernel(Double.self, x, weight, epsilon) }
        )
    }

    private func checkNormOperands(_ operation: String, _ x: Tensor, _ weight: Tensor) {
        precondition(x.rank >= 1, "\(operation) of a scalar")
        precondition(
            weight.shape == [x.shape[x.rank - 1]] && weight.dtype == x.dtype,
            "\(operation) weight \(weight.shape) \(weight.dtype) for input \(x.shape) \(x.dtype)")
    }

    func rmsNormKernel<T: TensorScalar>(_: T.Type, _ x: Tensor, _ weight: Tensor, _ epsilon: Double) -> (Tensor, Tensor) {
        let (input, w) = (contiguous(x), contiguous(weight))
        let width = x.shape[x.rank - 1]
        let rows = width == 0 ? 0 : x.count / width
        let output = empty(x.shape, dtype: x.dtype)
        let inverse = empty(Array(x.shape.dropLast()), dtype: x.dtype)
        let (px, pw) = (input.address.assumingMemoryBound(to: T.self), w.address.assumingMemoryBound(to: T.self))
        let (po, pr) = (output.address.assumingMemoryBound(to: T.self), inverse.address.assumingMemoryBound(to: T.self))
        let (scale, eps) = (1 / T(max(width, 1)), T(epsilon))
        parallel(rows, elements: x.count) { range in
            for row in range {
                let (u, o) = (px + row * width, po + row * width)
                let r = 1 / T.squareRoot(RowReduction.dot(u, u, count: width) * scale + eps)
                pr[row] = r
                for i in 0..<width { o[i] = u[i] * r * pw[i] }
            }
        }
        return (output, inverse)
    }

    public func rmsNormBackward(gradient: Tensor, input: Tensor, weight: Tensor, inverseRMS: Tensor) -> (input: Tensor, weight: Tensor) {
        checkNormOperands("rmsNormBackward", input, weight)
        precondition(gradient.shape == input.shape, "rmsNorm gradient \(gradient.shape) for input \(input.shape)")
        return dispatch(
            input.dtype, "rmsNormBackward", f32: { rmsNormBackwardKernel(Float.self, gradient, input, weight, inverseRMS) },
            f64: { rmsNormBackwardKernel(Double.self, gradient, input, weight, inverseRMS) })
    }

    /// y = x·r·w with r = (mean(x²) + ε)^(−1/2): dx = r·(g⊙w) − x·r³/n·Σ(g⊙w⊙x), dw = Σ_rows g⊙x·r.
    func rmsNormBackwardKernel<T: TensorScalar>(_: T.Type, _ gradient: Tensor, _ input: Tensor, _ weight: Tensor, _ inverseRMS: Tensor)
        -> (Tensor, Tensor)
    {
        let (g, x, w, inverse) = (contiguous(gradient), contiguous(input), contiguous(weight), contiguous(inverseRMS))
        let width = input.shape[input.rank - 1]
        let rows = width == 0 ? 0 : input.count / width
        let inputGradient = empty(input.shape, dtype: input.dtype)
        let (pg, px, pw) = (
            g.address.assumingMemoryBound(to: T.self), x.address.assumingMemoryBound(to: T.self), w.address.assumingMemoryBound(to: T.self)
        )
        let (pr, pd) = (inverse.address.assumingMemoryBound(to: T.self), inputGradient.address.assumingMemoryBound(to: T.self))
        let scale = 1 / T(max(width, 1))
        let weightGradient = rowBandSums(T.self, rows: rows, width: width, dtype: input.dtype) { band, partial in
            for row in band {
                let (gr, xr, d) = (pg + row * width, px + row * width, pd + row * width)
                let r = pr[row]
                let c = RowReduction.dot(gr, pw, xr, count: width) * r * r * r * scale
                for i in 0..<width {
                    d[i] = r * gr[i] * pw[i] - c * xr[i]
                    partial[i] += gr[i] * xr[i] * r
                }
            }
        }
        return (inputGradient, weightGradient[0])
    }

    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor?, epsilon: Double) -> (output: Tensor, mean: Tensor, inverseStd: Tensor)
    {
        checkNormOperands("layerNorm", x, weight)
        if let bias { checkNormOperands("layerNorm bias", x, bias) }
        return dispatch(
            x.dtype, "layerNorm", f32: { layerNormKernel(Float.self, x, weight, bias, epsilon) },
            f64: { layerNormKernel(Double.self, x, weight, bias, epsilon) })
    }

    func layerNormKernel<T: TensorScalar>(_: T.Type, _ x: Tensor, _ weight: Tensor, _ bias: Tensor?, _ epsilon: Double) -> (
        Tensor, Tensor, Tensor
    ) {
        let (input, w) = (contiguous(x), contiguous(weight))
        let b = bias.map { contiguous($0) }
        let width = x.shape[x.rank - 1]
        let rows = width == 0 ? 0 : x.count / width
        let output = empty(x.shape, dtype: x.dtype)
        let means = empty(Array(x.shape.dropLast()), dtype: x.dtype)
        let inverse = empty(Array(x.shape.dropLast()), dtype: x.dtype)
        let (px, pw, pb) = (
            input.address.assumingMemoryBound(to: T.self), w.address.assumingMemoryBound(to: T.self),
            b?.address.assumingMemoryBound(to: T.self)
        )
        let (po, pm, pr) = (
            output.address.assumingMemoryBound(to: T.self), means.address.assumingMemoryBound(to: T.self),
            inverse.address.assumingMemoryBound(to: T.self)
        )
        let (scale, eps) = (1 / T(max(width, 1)), T(epsilon))
        parallel(rows, elements: x.count) { range in
            for row in range {
                let (u, o) = (px + row * width, po + row * width)
                // Two passes (mean, then squared deviations): no cancellation for rows far from zero.
                let mean = RowReduction.sum(u, count: width) * scale
                let r = 1 / T.squareRoot(RowReduction.squaredDeviation(u, from: mean, count: width) * scale + eps)
                pm[row] = mean
                pr[row] = r
                if let pb {
                    for i in 0..<width { o[i] = (u[i] - mean) * r * pw[i] + pb[i] }
                } else {
                    for i in 0..<width { o[i] = (u[i] - mean) * r * pw[i] }
                }
            }
        }
        return (output, means, inverse)
    }

    public func layerNormBackward(gradient: Tensor, input: Tensor, weight: Tensor, mean: Tensor, inverseStd: Tensor)
        -> (input: Tensor, weight: Tensor, bias: Tensor)
    {
        checkNormOperands("layerNormBackward", input, weight)
        precondition(gradient.shape == input.shape, "layerNorm gradient \(gradient.shape) for input \(input.shape)")
        return dispatch(
            input.dtype, "layerNormBackward", f32: { layerNormBackwardKernel(Float.self, gradient, input, weight, mean, inverseStd) },
            f64: { layerNormBackwardKernel(Double.self, gradient, input, weight, mean, inverseStd) })
    }

    /// x̂ = (x − μ)·r, y = x̂⊙w + b: dx = r·(g⊙w − mean(g⊙w) − x̂·mean(g⊙w⊙x̂)), dw = Σ g⊙x̂, db = Σ g.
    func layerNormBackwardKernel<T: TensorScalar>(
        _: T.Type, _ gradient: Tensor, _ input: Tensor, _ weight: Tensor, _ mean: Tensor, _ inverseStd: Tensor
    ) -> (Tensor, Tensor, Tensor) {
        let (g, x, w) = (contiguous(gradient), contiguous(input), contiguous(weight))
        let (means, inverse) = (contiguous(mean), contiguous(inverseStd))
        let width = input.shape[input.rank - 1]
        let rows = width == 0 ? 0 : input.count / width
        let inputGradient = empty(input.shape, dtype: input.dtype)
        let (pg, px, pw) = (
            g.address.assumingMemoryBound(to: T.self), x.address.assumingMemoryBound(to: T.self), w.address.assumingMemoryBound(to: T.self)
        )
        let (pm, pr) = (means.address.assumingMemoryBound(to: T.self), inverse.address.assumingMemoryBound(to: T.self))
        let pd = inputGradient.address.assumingMemoryBound(to: T.self)
        let scale = 1 / T(max(width, 1))
        let sums = rowBandSums(T.self, rows: rows, width: width, dtype: input.dtype, outputs: 2) { band, partial in
            let biasPartial = partial + width
            for row in band {
                let (gr, xr, d) = (pg + row * width, px + row * width, pd + row * width)
                let (mu, r) = (pm[row], pr[row])
                // Σ g⊙w and Σ g⊙w⊙x̂ (x̂ = (x − μ)·r).
                var weighted = T(0), projected = T(0)
                for i in 0..<width {
                    let gw = gr[i] * pw[i]
                    weighted += gw
                    projected += gw * (xr[i] - mu)
                }
                let (a, c) = (weighted * scale, projected * r * scale)
                for i in 0..<width {
                    let normalized = (xr[i] - mu) * r
                    d[i] = r * (gr[i] * pw[i] - a - normalized * c)
                    partial[i] += gr[i] * normalized
                    biasPartial[i] += gr[i]
                }
            }
        }
        return (inputGradient, sums[0], sums[1])
    }

    /// Runs `body(rows, partial)` over bands of rows, one band per worker, each adding into its own
    /// zeroed partial rows (`outputs` rows of `width`, side by side); returns the partials summed
    /// over the bands in band order, as `outputs` tensors of shape [width].
    func rowBandSums<T: TensorScalar>(
        _: T.Type, rows: Int, width: Int, dtype: DType, outputs: Int = 1, _ body: (Range<Int>, UnsafeMutablePointer<T>) -> Void
    ) -> [Tensor] {
        let bands = max(1, min(rows, rows * width < CPUTensorBackend.parallelThreshold ? 1 : pool.threadCount))
        let span = outputs * width
        let partials = zeros([bands, span], dtype: dtype)
        let pp = partials.address.assumingMemoryBound(to: T.self)
        parallel(bands, elements: bands == 1 ? 0 : rows * width) { range in
            for band in range { body(ThreadPool.chunk(rows, band, bands), pp + band * span) }
        }
        let results = (0..<outputs).map { _ in zeros([width], dtype: dtype) }
        for (index, result) in results.enumerated() {
            let o = result.address.assumingMemoryBound(to: T.self)
            for band in 0..<bands {
                let p = pp + band * span + index * width
                for i in 0..<width { o[i] += p[i] }
            }
        }
        return results
    }
}
