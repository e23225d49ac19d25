import CDirectConvolution
import Tensors
import Threading

/// 2-D convolution on the CPU as im2col + GEMM: each image's patches are unrolled into a column
/// matrix [C·kh·kw, Ho·Wo] (in a per-worker scratch buffer) so the product with the weight
/// [O, C·kh·kw] is one OpenBLAS GEMM that writes the NCHW output directly. Images are split over
/// the pool's workers; the backward pass recomputes the columns instead of keeping them (memory
/// is the bottleneck) and sums each worker's weight gradient at the end. Stride-1 shapes go to the
/// direct kernels instead (DirectConvolution.swift), which measured faster.
extension CPUTensorBackend {
    /// How a convolution is computed; tests pick one to check each against the other.
    enum ConvolutionAlgorithm { case automatic, unfolded, direct }

    public func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor?, window: Window2D, groups: Int) -> Tensor {
        conv2d(input, weight: weight, bias: bias, window: window, groups: groups, algorithm: .automatic)
    }

    public func conv2dBackward(gradient: Tensor, input: Tensor, weight: Tensor, window: Window2D, groups: Int, inputGradient: Bool)
        -> (input: Tensor?, weight: Tensor, bias: Tensor)
    {
        conv2dBackward(
            gradient: gradient, input: input, weight: weight, window: window, groups: groups, inputGradient: inputGradient,
            algorithm: .automatic)
    }

    func conv2d(_ input: Tensor, weight: Tensor, bias: Tensor?, window: Window2D, groups: Int, algorithm: ConvolutionAlgorithm)
        -> Tensor
    {
        let shape = ConvolutionShape(input: input.shape, weight: weight.shape, window: window, groups: groups)
        precondition(input.dtype == weight.dtype && (bias?.dtype ?? input.dtype) == input.dtype, "conv2d operands differ in dtype")
        precondition(bias == nil || bias!.shape == [shape.outputs], "conv2d bias \(bias!.shape) for \(shape.outputs) outputs")
        let direct = resolve(algorithm, shape)
        return dispatch(
            input.dtype, "conv2d", f32: { conv2dKernel(Float.self, input, weight, bias, shape, direct: direct) },
            f64: { conv2dKernel(Double.self, input, weight, bias, shape, direct: direct) })
    }

    func conv2dBackward(
        gradient: Tensor, input: Tensor, weight: Tensor, window: Window2D, groups: Int, inputGradient: Bool,
        algorithm: ConvolutionAlgorithm
    ) -> (input: Tensor?, weight: Tensor, bias: Tensor) {
        let shape = ConvolutionShape(input: input.shape, weight: weight.shape, window: window, groups: groups)
        precondition(gradient.shape == shape.outputShape, "conv2d gradient \(gradient.shape) for output \(shape.outputShape)")
        let direct = resolve(algorithm, shape)
        return dispatch(
            input.dtype, "conv2dBackward",
            f32: { conv2dBackwardKernel(Float.self, gradient, input, weight, shape, inputGradient, direct: direct) },
            f64: { conv2dBackwardKernel(Double.self, gradient, input, weight, shape, inputGradient, direct: direct) })
    }

    private func resolve(_ algorithm: ConvolutionAlgorithm, _ shape: ConvolutionShape) -> Bool {
        switch algorithm {
        case .automatic: return shape.suitsDirectKernel
        case .unfolded: return false
        case .direct:
            precondition(shape.suitsDirectKernel, "direct convolution asked for a shape it does not run: \(shape.window)")
            return true
        }
    }

    private func conv2dKernel<T: TensorScalar>(
        _: T.Type, _ input: Tensor, _ weight: Tensor, _ bias: Tensor?, _ shape: ConvolutionShape, direct: Bool
    ) -> Tensor {
        let (x, w) = (contiguous(input), contiguous(weight))
        let b = bias.map { contiguous($0) }
        let result = empty(shape.outputShape, dtype: input.dtype)
        if direct {
            directConv2dKernel(T.self, x, w, b, shape, into: result)
            return result
        }
        let workers = min(pool.threadCount, max(1, shape.batch))
        let scratchSize = shape.isPointwise ? 0 : shape.patch * shape.outputPlane
        let scratch = empty([max(1, workers * scratchSize)], dtype: input.dtype)
        let (px, pw, py) = (typed(x, T.self), typed(w, T.self), typed(result, T.self))
        let pb = b.map { typed($0, T.self) }
        let plane = shape.outputPlane
        forEachImage(shape.batch, workers: workers) { images, worker in
            let columns = typed(scratch, T.self) + worker * scratchSize
            for image in images {
                for group in 0..<shape.groups {
                    let source = px + (image * shape.channels + group * shape.groupChannels) * shape.inputPlane
                    let matrix: UnsafePointer<T>
                    if shape.isPointwise {
                        matrix = UnsafePointer(source)
                    } else {
                        Self.unfold(source, into: columns, shape)
                        matrix = UnsafePointer(columns)
                    }
                    let output = py + (image * shape.outputs + group * shape.groupOutputs) * plane
                    if let pb {
                        for o in 0..<shape.groupOutputs {
                            (output + o * plane).update(repeating: pb[group * shape.groupOutputs + o], count: plane)
                        }
                    }
                    T.gemm(
                        transposeA: false, transposeB: false, m: shape.groupOutputs, n: plane, k: shape.patch, alpha: 1,
                        a: pw + group * shape.groupOutputs * shape.patch, lda: shape.patch, b: matrix, ldb: plane,
                        beta: pb == nil ? 0 : 1, c: output, ldc: plane)
                }
            }
        }
        return result
    }

    private func conv2dBackwardKernel<T: TensorScalar>(
        _: T.Type, _ gradient: Tensor, _ input: Tensor, _ weight: Tensor, _ shape: ConvolutionShape, _ wantsInput: Bool, direct: Bool
    ) -> (input: Tensor?, weight: Tensor, bias: Tensor) {
        let (dy, x, w) = (contiguous(gradient), contiguous(input), contiguous(weight))
        if direct { return directConv2dBackwardKernel(T.self, dy, x, w, shape, wantsInput) }
        let workers = min(pool.threadCount, max(1, shape.batch))
        let plane = shape.outputPlane
        let weightSize = shape.outputs * shape.patch
        // Per worker: a weight and a bias gradient to sum into, and two column buffers (the input's
        // patches, and the gradient flowing back into them).
        let weightParts = zeros([workers, weightSize], dtype: input.dtype)
        let biasParts = zeros([workers, shape.outputs], dtype: input.dtype)
        let scratchSize = shape.isPointwise ? 0 : shape.patch * plane
        let scratch = empty([max(1, workers * scratchSize * 2)], dtype: input.dtype)
        let inputGradient = wantsInput ? zeros(input.shape, dtype: input.dtype) : nil
        let (pdy, px, pw) = (typed(dy, T.self), typed(x, T.self), typed(w, T.self))
        let pdx = inputGradient.map { typed($0, T.self) }
        forEachImage(shape.batch, workers: workers) { images, worker in
            let columns = typed(scratch, T.self) + worker * scratchSize * 2
            let columnGradient = columns + scratchSize
            let weightGradient = typed(weightParts, T.self) + worker * weightSize
            let biasGradient = typed(biasParts, T.self) + worker * shape.outputs
            for image in images {
                for group in 0..<shape.groups {
                    let inputOffset = (image * shape.channels + group * shape.groupChannels) * shape.inputPlane
                    let source = px + inputOffset
                    let matrix: UnsafePointer<T>
                    if shape.isPointwise {
                        matrix = UnsafePointer(source)
                    } else {
                        Self.unfold(source, into: columns, shape)
                        matrix = UnsafePointer(columns)
                    }
                    let outputGradient = pdy + (image * shape.outputs + group * shape.groupOutputs) * plane
                    let groupWeight = group * shape.groupOutputs * shape.patch
                    for o in 0..<shape.groupOutputs {
                        biasGradient[group * shape.groupOutputs + o] += RowReduction.sum(outputGradient + o * plane, count: plane)
                    }
                    // dW_g += dY_g · columnsᵀ
                    T.gemm(
                        transposeA: false, transposeB: true, m: shape.groupOutputs, n: shape.patch, k: plane, alpha: 1,
                        a: outputGradient, lda: plane, b: matrix, ldb: plane, beta: 1, c: weightGradient + groupWeight, ldc: shape.patch)
                    guard let pdx else { continue }
                    // d columns = W_gᵀ · dY_g, folded back onto the image (overlapping patches add up).
                    let target = shape.isPointwise ? pdx + inputOffset : columnGradient
                    T.gemm(
                        transposeA: true, transposeB: false, m: shape.patch, n: plane, k: shape.groupOutputs, alpha: 1,
                        a: pw + groupWeight, lda: shape.patch, b: outputGradient, ldb: plane, beta: 0, c: target, ldc: plane)
                    if !shape.isPointwise { Self.fold(UnsafePointer(columnGradient), into: pdx + inputOffset, shape) }
                }
            }
        }
        let weightGradient = empty(weight.shape, dtype: weight.dtype)
        let biasGradient = empty([shape.outputs], dtype: weight.dtype)
        Self.sumParts(typed(weightParts, T.self), parts: workers, size: weightSize, into: typed(weightGradient, T.self))
        Self.sumParts(typed(biasParts, T.self), parts: workers, size: shape.outputs, into: typed(biasGradient, T.self))
        return (inputGradient, weightGradient, biasGradient)
    }

    /// Runs `body(images, worker)` with the batch split into one contiguous range per worker.
    func forEachImage(_ batch: Int, workers: Int, _ body: (Range<Int>, Int) -> Void) {
        if workers <= 1 {
            body(0..<batch, 0)
            return
        }
        pool.run { worker, count in
            guard worker < workers else { return }
            let images = ThreadPool.chunk(batch, worker, workers)
            if !images.isEmpty { body(images, worker) }
        }
    }

    static func sumParts<T: TensorScalar>(
        _ parts: UnsafeMutablePointer<T>, parts count: Int, size: Int, into result: UnsafeMutablePointer<T>
    ) {
        result.update(from: parts, count: size)
        for part in 1..<max(1, count) {
            let source = parts + part * size
            for i in 0..<size { result[i] += source[i] }
        }
    }

    /// im2col for one image and group: row (c, i, j) of `columns` holds, for every output position,
    /// the input pixel under kernel tap (i, j) of channel c, or 0 in the padding.
    static func unfold<T: TensorScalar>(_ image: UnsafePointer<T>, into columns: UnsafeMutablePointer<T>, _ shape: ConvolutionShape) {
        if T.self == Float.self && shape.suitsAVX512Unfold {
            var geometry = shape.unfoldGeometry
            atl_unfold_f32_avx512(&geometry, floats(image), floats(columns))
            return
        }
        let window = shape.window
        let (outputHeight, outputWidth, plane) = (shape.outputHeight, shape.outputWidth, shape.outputPlane)
        var row = columns
        for channel in 0..<shape.groupChannels {
            let source = image + channel * shape.inputPlane
            for i in 0..<window.kernel.height {
                let rowOffset = i * window.dilation.height - window.padding.height
                for j in 0..<window.kernel.width {
                    let columnOffset = j * window.dilation.width - window.padding.width
                    let valid = shape.validColumns(offset: columnOffset)
                    for oh in 0..<outputHeight {
                        let out = row + oh * outputWidth
                        let ih = oh * window.stride.height + rowOffset
                        // Plain loops, not memset/memmove: rows are short (8–32 values) and the
                        // padding a value or two, where a library call costs more than the copy.
                        guard ih >= 0 && ih < shape.height && !valid.isEmpty else {
                            for ow in 0..<outputWidth { out[ow] = 0 }
                            continue
                        }
                        for ow in 0..<valid.lowerBound { out[ow] = 0 }
                        for ow in valid.upperBound..<outputWidth { out[ow] = 0 }
                        let line = source + ih * shape.width + columnOffset
                        if window.stride.width == 1 {
                            for ow in valid { out[ow] = line[ow] }
                        } else {
                            for ow in valid { out[ow] = line[ow * window.stride.width] }
                        }
                    }
                    row += plane
                }
            }
        }
    }

    /// col2im: adds each column entry back onto the input pixel it was read from (the transpose of `unfold`).
    static func fold<T: TensorScalar>(_ columns: UnsafePointer<T>, into image: UnsafeMutablePointer<T>, _ shape: ConvolutionShape) {
        if T.self == Float.self && shape.suitsAVX512Unfold {
            var geometry = shape.unfoldGeometry
            atl_fold_f32_avx512(&geometry, floats(columns), floats(image))
            return
        }
        let window = shape.window
        let (outputHeight, outputWidth, plane) = (shape.outputHeight, shape.outputWidth, shape.outputPlane)
        var row = columns
        for channel in 0..<shape.groupChannels {
            let target = image + channel * shape.inputPlane
            for i in 0..<window.kernel.height {
                let rowOffset = i * window.dilation.height - window.padding.height
                for j in 0..<window.kernel.width {
                    let columnOffset = j * window.dilation.width - window.padding.width
                    let valid = shape.validColumns(offset: columnOffset)
                    for oh in 0..<outputHeight where !valid.isEmpty {
                        let ih = oh * window.stride.height + rowOffset
                        guard ih >= 0 && ih < shape.height else { continue }
                        let input = row + oh * outputWidth
                        let line = target + ih * shape.width + columnOffset
                        if window.stride.width == 1 {
                            for ow in valid { line[ow] += input[ow] }
                        } else {
                            for ow in valid { line[ow * window.stride.width] += input[ow] }
                        }
                    }
                    row += plane
                }
            }
        }
    }

    @inline(__always) func typed<T>(_ tensor: Tensor, _: T.Type) -> UnsafeMutablePointer<T> {
        tensor.address.assumingMemoryBound(to: T.self)
    }
}

extension ConvolutionShape {
    /// The shapes CDirectConvolution's AVX-512 im2col and col2im run (where the CPU has AVX-512):
    /// ResNet's stride-2 3×3 and 1×1 convolutions, whose short output lines (16 and 8 values) the
    /// generic loops spent more time on than the GEMM that follows.
    var suitsAVX512Unfold: Bool {
        FlatCorrelation.usesAVX512 && window.dilation == (1, 1) && window.stride.height == window.stride.width
            && (window.stride.width == 1 || window.stride.width == 2) && outputWidth <= 16
    }

    /// One group's geometry for the AVX-512 im2col and col2im.
    var unfoldGeometry: atl_unfold_geometry {
        atl_unfold_geometry(
            channels: Int64(groupChannels), height: Int64(height), width: Int64(width), kernelHeight: Int64(window.kernel.height),
            kernelWidth: Int64(window.kernel.width), stride: Int64(window.stride.height), padHeight: Int64(window.padding.height),
            padWidth: Int64(window.padding.width), outputHeight: Int64(outputHeight), outputWidth: Int64(outputWidth))
    }
}
