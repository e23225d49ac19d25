import Tensors

/// Batch normalisation over the channel axis of [N, C, ...] on the CPU, one channel per task; the
/// statistics add up in f64 (a channel holds up to N·H·W = 100,000+ values).
extension CPUTensorBackend {
    public func batchNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, epsilon: Double) -> (
        output: Tensor, mean: Tensor, inverseStd: Tensor
    ) {
        checkChannels(x.shape, [weight, bias], "batchNorm")
        return dispatch(
            x.dtype, "batchNorm", f32: { batchNormKernel(Float.self, x, weight, bias, epsilon) },
            f64: { batchNormKernel(Double.self, x, weight, bias, epsilon) })
    }

    public func batchNormBackward(gradient: Tensor, input: Tensor, weight: Tensor?, mean: Tensor, inverseStd: Tensor)
        -> (input: Tensor, weight: Tensor, bias: Tensor)
    {
        checkChannels(input.shape, [weight, mean, inverseStd], "batchNormBackward")
        precondition(gradient.shape == input.shape, "batchNorm gradient \(gradient.shape) for input \(input.shape)")
        return dispatch(
            input.dtype, "batchNormBackward",
            f32: { batchNormBackwardKernel(Float.self, gradient, input, weight, mean, inverseStd) },
            f64: { batchNormBackwardKernel(Double.self, gradient, input, weight, mean, inverseStd) })
    }

    public func channelAffine(_ x: Tensor, scale: Tensor, shift: Tensor) -> Tensor {
        checkChannels(x.shape, [scale, shift], "channelAffine")
        return dispatch(
            x.dtype, "channelAffine", f32: { channelAffineKernel(Float.self, x, scale, shift) },
            f64: { channelAffineKernel(Double.self, x, scale, shift) })
    }

    private func checkChannels(_ shape: [Int], _ perChannel: [Tensor?], _ operation: String) {
        precondition(shape.count >= 2, "\(operation) input must be [batch, channels, ...], not \(shape)")
        for tensor in perChannel.compactMap({ $0 }) {
            precondition(tensor.shape == [shape[1]], "\(operation) per-channel tensor \(tensor.shape) for \(shape[1]) channels")
        }
    }

    /// (batch, channels, elements per channel and image).
    private func channelLayout(_ shape: [Int]) -> (Int, Int, Int) {
        (shape[0], shape[1], shape.dropFirst(2).reduce(1, *))
    }

    private func batchNormKernel<T: TensorScalar>(_: T.Type, _ input: Tensor, _ weight: Tensor?, _ bias: Tensor?, _ epsilon: Double)
        -> (output: Tensor, mean: Tensor, inverseStd: Tensor)
    {
        let x = contiguous(input)
        let (batch, channels, inner) = channelLayout(input.shape)
        let count = Double(batch * inner)
        precondition(count > 0, "batchNorm of an empty batch \(input.shape)")
        let result = empty(input.shape, dtype: input.dtype)
        let mean = empty([channels], dtype: input.dtype), inverseStd = empty([channels], dtype: input.dtype)
        let (px, py, pm, ps) = (typed(x, T.self), typed(result, T.self), typed(mean, T.self), typed(inverseStd, T.self))
        let pw = weight.map { typed(contiguous($0), T.self) }, pb = bias.map { typed(contiguous($0), T.self) }
        parallel(channels, elements: input.count) { range in
            for channel in range {
                var total = 0.0
                for image in 0..<batch {
                    total += Double(RowReduction.sum(px + (image * channels + channel) * inner, count: inner))
                }
                let average = total / count
                var squares = 0.0
                for image in 0..<batch {
                    let row = px + (image * channels + channel) * inner
                    squares += Double(RowReduction.squaredDeviation(row, from: T(average), count: inner))
                }
                let inverse = 1 / (squares / count + epsilon).squareRoot()
                pm[channel] = T(average)
                ps[channel] = T(inverse)
                let scale = T(inverse) * (pw?[channel] ?? 1)
                let shift = (pb?[channel] ?? 0) - T(average) * scale
                for image in 0..<batch {
                    let offset = (image * channels + channel) * inner
                    RowMap.affine(px + offset, py + offset, scale: scale, shift: shift, count: inner)
                }
            }
        }
        return (result, mean, inverseStd)
    }

    /// dx = w·s/m · (m·dy − Σdy − x̂·Σ(dy·x̂)), x̂ = (x − mean)·s; dw = Σ dy·x̂; db = Σ dy.
    private func batchNormBackwardKernel<T: TensorScalar>(
        _: T.Type, _ gradient: Tensor, _ input: Tensor, _ weight: Tensor?, _ mean: Tensor, _ inverseStd: Tensor
    ) -> (input: Tensor, weight: Tensor, bias: Tensor) {
        let (dy, x) = (contiguous(gradient), contiguous(input))
        let (batch, channels, inner) = channelLayout(input.shape)
        let count = Double(batch * inner)
        let inputGradient = empty(input.shape, dtype: input.dtype)
        let weightGradient = empty([channels], dtype: input.dtype), biasGradient = empty([channels], dtype: input.dtype)
        let (pdy, px, pdx) = (typed(dy, T.self), typed(x, T.self), typed(inputGradient, T.self))
        let (pm, ps) = (typed(contiguous(mean), T.self), typed(contiguous(inverseStd), T.self))
        let pw = weight.map { typed(contiguous($0), T.self) }
        let (pdw, pdb) = (typed(weightGradient, T.self), typed(biasGradient, T.self))
        parallel(channels, elements: input.count) { range in
            for channel in range {
                let (center, inverse) = (pm[channel], ps[channel])
                var sumGradient = 0.0, sumProduct = 0.0
                for image in 0..<batch {
                    let offset = (image * channels + channel) * inner
                    let (g, row) = (pdy + offset, px + offset)
                    sumGradient += Double(RowReduction.sum(g, count: inner))
                    sumProduct += Double(RowReduction.centeredDot(g, row, center: center, count: inner)) * Double(inverse)
                }
                pdb[channel] = T(sumGradient)
                pdw[channel] = T(sumProduct)
                let factor = (pw?[channel] ?? 1) * inverse
                let meanGradient = T(sumGradient / count), meanProduct = T(sumProduct / count)
                for image in 0..<batch {
                    let offset = (image * channels + channel) * inner
                    // factor·(g − meanGradient − (x − center)·inverse·meanProduct).
                    RowMap.combine(
                        pdy + offset, times: factor, px + offset, minus: center, times: -factor * inverse * meanProduct,
                        plus: -factor * meanGradient, into: pdx + offset, count: inner)
                }
            }
        }
        return (inputGradient, weightGradient, biasGradient)
    }

    private func channelAffineKernel<T: TensorScalar>(_: T.Type, _ input: Tensor, _ scale: Tensor, _ shift: Tensor) -> Tensor {
        let x = contiguous(input)
        let (batch, channels, inner) = channelLayout(input.shape)
        let result = empty(input.shape, dtype: input.dtype)
        let (px, py) = (typed(x, T.self), typed(result, T.self))
        let (pscale, pshift) = (typed(contiguous(scale), T.self), typed(contiguous(shift), T.self))
        parallel(batch * channels, elements: input.count) { range in
            for row in range {
                let channel = row % channels
                let (a, b) = (pscale[channel], pshift[channel])
                RowMap.affine(px + row * inner, py + row * inner, scale: a, shift: b, count: inner)
            }
        }
        return result
    }
}
