import Tensors

/// Max and average pooling on the CPU, one (image, channel) plane per task.
extension CPUTensorBackend {
    public func pool2d(_ kind: Pooling, _ input: Tensor, window: Window2D) -> (output: Tensor, argmax: Tensor?) {
        let (planes, output) = poolShapes(kind, input.shape, window)
        return dispatch(
            input.dtype, "pool2d", f32: { poolKernel(Float.self, kind, input, window, planes, output) },
            f64: { poolKernel(Double.self, kind, input, window, planes, output) })
    }

    public func pool2dBackward(_ kind: Pooling, gradient: Tensor, inputShape: [Int], argmax: Tensor?, window: Window2D) -> Tensor {
        let (planes, output) = poolShapes(kind, inputShape, window)
        precondition(
            gradient.shape == Array(inputShape.prefix(2)) + [output.height, output.width],
            "pool2d gradient \(gradient.shape) for input \(inputShape)")
        precondition(
            kind == .average || (argmax?.shape == gradient.shape && argmax?.dtype == .i32), "max pooling backward needs its argmax")
        return dispatch(
            gradient.dtype, "pool2dBackward",
            f32: { poolBackwardKernel(Float.self, kind, gradient, inputShape, argmax, window, planes, output) },
            f64: { poolBackwardKernel(Double.self, kind, gradient, inputShape, argmax, window, planes, output) })
    }

    private func poolShapes(_ kind: Pooling, _ shape: [Int], _ window: Window2D) -> (planes: Int, output: (height: Int, width: Int)) {
        precondition(shape.count == 4, "pool2d input must be [batch, channels, height, width], not \(shape)")
        precondition(window.isValid, "pool2d window \(window) has a size, stride or dilation below 1 or a negative padding")
        precondition(kind == .max || window.dilation == (1, 1), "average pooling has no dilation")
        // PyTorch's rule: padding at most half the kernel, so every window holds a real pixel.
        precondition(
            window.padding.height <= window.kernel.height / 2 && window.padding.width <= window.kernel.width / 2,
            "pool2d padding \(window.padding) must be at most half the kernel \(window.kernel)")
        guard let output = window.outputSize(height: shape[2], width: shape[3]) else {
            preconditionFailure("pool2d window \(window.kernel) is larger than the padded input \(shape)")
        }
        return (shape[0] * shape[1], output)
    }

    private func poolKernel<T: TensorScalar>(
        _: T.Type, _ kind: Pooling, _ input: Tensor, _ window: Window2D, _ planes: Int, _ output: (height: Int, width: Int)
    ) -> (output: Tensor, argmax: Tensor?) {
        let x = contiguous(input)
        let (height, width) = (input.shape[2], input.shape[3])
        let result = empty(Array(input.shape.prefix(2)) + [output.height, output.width], dtype: input.dtype)
        let argmax = kind == .max ? empty(result.shape, dtype: .i32) : nil
        let (px, py) = (typed(x, T.self), typed(result, T.self))
        let pa = argmax.map { typed($0, Int32.self) }
        let outputPlane = output.height * output.width
        let divisor = T(window.kernel.height * window.kernel.width)
        // The common case, non-overlapping 2×2 windows inside the image, without bounds checks.
        let halving = window.kernel == (2, 2) && window.stride == (2, 2) && window.padding == (0, 0) && window.dilation == (1, 1)
        parallel(planes, elements: planes * outputPlane * window.kernel.height * window.kernel.width) { range in
            for plane in range {
                let source = px + plane * height * width
                let out = py + plane * outputPlane
                if halving {
                    Self.halvingPool(source, width: width, out, argmax: pa.map { $0 + plane * outputPlane }, output: output)
                    continue
                }
                for oh in 0..<output.height {
                    for ow in 0..<output.width {
                        var best = -T.infinity, bestIndex = Int32(-1), total = T(0)
                        for i in 0..<window.kernel.height {
                            let ih = oh * window.stride.height - window.padding.height + i * window.dilation.height
                            if ih < 0 || ih >= height { continue }
                            for j in 0..<window.kernel.width {
                                let iw = ow * window.stride.width - window.padding.width + j * window.dilation.width
                                if iw < 0 || iw >= width { continue }
                                let value = source[ih * width + iw]
                                if kind == .max {
                                    if value > best || bestIndex < 0 {
                                        best = value
                                        bestIndex = Int32(ih * width + iw)
                                    }
                                } else {
                                    total += value
                                }
                            }
                        }
                        let index = oh * output.width + ow
                        if let pa {
                            out[index] = best
                            pa[plane * outputPlane + index] = bestIndex
                        } else {
                            out[index] = total / divisor
                        }
                    }
                }
            }
        }
        return (result, argmax)
    }

    @inline(__always)
    private static func halvingPool<T: TensorScalar>(
        _ source: UnsafeMutablePointer<T>, width: Int, _ out: UnsafeMutablePointer<T>, argmax: UnsafeMutablePointer<Int32>?,
        output: (height: Int, width: Int)
    ) {
        for oh in 0..<output.height {
            let top = 2 * oh * width, bottom = top + width
            let row = out + oh * output.width
            guard let argmax else {
                for ow in 0..<output.width {
                    let a = source[top + 2 * ow], b = source[top + 2 * ow + 1], c = source[bottom + 2 * ow], d = source[bottom + 2 * ow + 1]
                    row[ow] = (a + b + c + d) * T(0.25)
                }
                continue
            }
            let indices = argmax + oh * output.width
            for ow in 0..<output.width {
                // Ties go to the first in row-major order, as the general loop.
                var best = source[top + 2 * ow], index = top + 2 * ow
                if source[top + 2 * ow + 1] > best { (best, index) = (source[top + 2 * ow + 1], top + 2 * ow + 1) }
                if source[bottom + 2 * ow] > best { (best, index) = (source[bottom + 2 * ow], bottom + 2 * ow) }
                if source[bottom + 2 * ow + 1] > best { (best, index) = (source[bottom + 2 * ow + 1], bottom + 2 * ow + 1) }
                row[ow] = best
                indices[ow] = Int32(index)
            }
        }
    }

    private func poolBackwardKernel<T: TensorScalar>(
        _: T.Type, _ kind: Pooling, _ gradient: Tensor, _ inputShape: [Int], _ argmax: Tensor?, _ window: Window2D, _ planes: Int,
        _ output: (height: Int, width: Int)
    ) -> Tensor {
        let dy = contiguous(gradient)
        let (height, width) = (inputShape[2], inputShape[3])
        let result = zeros(inputShape, dtype: gradient.dtype)
        let (pdy, pdx) = (typed(dy, T.self), typed(result, T.self))
        let pa = argmax.map { typed(contiguous($0), Int32.self) }
        let outputPlane = output.height * output.width
        let share = T(1) / T(window.kernel.height * window.kernel.width)
        parallel(planes, elements: planes * outputPlane * window.kernel.height * window.kernel.width) { range in
            for plane in range {
                let target = pdx + plane * height * width
                let incoming = pdy + plane * outputPlane
                if let pa {
                    let indices = pa + plane * outputPlane
                    for index in 0..<outputPlane { target[Int(indices[index])] += incoming[index] }
                    continue
                }
                for oh in 0..<output.height {
                    for ow in 0..<output.width {
                        let value = incoming[oh * output.width + ow] * share
                        for i in 0..<window.kernel.height {
                            let ih = oh * window.stride.height - window.padding.height + i
                            if ih < 0 || ih >= height { continue }
                            for j in 0..<window.kernel.width {
                                let iw = ow * window.stride.width - window.padding.width + j
                                if iw >= 0 && iw < width { target[ih * width + iw] += value }
                            }
                        }
                    }
                }
            }
        }
        return result
    }
}
