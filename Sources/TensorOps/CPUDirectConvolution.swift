import Tensors

/// The backend's entry to `FlatCorrelation`: images split over the pool's workers as for im2col,
/// each worker with its own padded-image and flat-output scratch; operands in `T` or, for f32
/// under `convolutionPrecision == .bfloat16`, in bf16 (`CorrelationOperands`).
extension CPUTensorBackend {
    func directConv2dKernel<T: TensorScalar>(
        _: T.Type, _ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ shape: ConvolutionShape, into result: Tensor
    ) {
        let operands = correlationOperands(T.self, shape.forwardCorrelation)
        let packed = bytes(operands.packedBytes(rows: shape.outputs, columns: shape.channels))
        operands.pack(typed(w, T.self), outputs: shape.outputs, inputs: shape.channels, transposed: false, into: packed.address)
        let workers = min(pool.threadCount, max(1, shape.batch))
        let paddedSize = operands.correlationImageBytes(channels: shape.channels)
        let scratchSize = paddedSize + operands.flatOutputBytes(rows: shape.outputs)
        let scratch = bytes(workers * scratchSize)
        let (px, py) = (typed(x, T.self), typed(result, T.self))
        let pb = bias.map { UnsafePointer(typed($0, T.self)) }
        forEachImage(shape.batch, workers: workers) { images, worker in
            let padded = scratch.address + worker * scratchSize
            let flat = (padded + paddedSize).assumingMemoryBound(to: T.self)
            for image in images {
                operands.padForCorrelation(px + image * shape.channels * shape.inputPlane, channels: shape.channels, into: padded)
                operands.correlate(padded, channels: shape.channels, packed.address, rows: shape.outputs, into: flat)
                operands.geometry.gather(flat, rows: shape.outputs, bias: pb, into: py + image * shape.outputs * shape.outputPlane)
            }
        }
    }

    func directConv2dBackwardKernel<T: TensorScalar>(
        _: T.Type, _ dy: Tensor, _ x: Tensor, _ w: Tensor, _ shape: ConvolutionShape, _ wantsInput: Bool
    ) -> (input: Tensor?, weight: Tensor, bias: Tensor) {
        let forward = correlationOperands(T.self, shape.forwardCorrelation)
        let backward = correlationOperands(T.self, shape.inputGradientCorrelation)
        let workers = min(pool.threadCount, max(1, shape.batch))
        let weightSize = shape.outputs * shape.channels * forward.geometry.taps
        let weightParts = zeros([workers, weightSize], dtype: x.dtype)
        let biasParts = zeros([workers, shape.outputs], dtype: x.dtype)
        // Per worker: the padded inputs and flat output gradients of the images whose weight
        // gradients are summed together, then one image's padded output gradient and flat input
        // gradient.
        let chunk = forward.geometry.weightGradientImages
        let paddedImage = forward.weightImageBytes(channels: shape.channels)
        let flatImage = forward.flatGradientBytes(rows: shape.outputs)
        let paddedInput = chunk * paddedImage, flatGradient = chunk * flatImage
        let paddedGradient = wantsInput ? backward.correlationImageBytes(channels: shape.outputs) : 0
        let flatInput = wantsInput ? backward.flatOutputBytes(rows: shape.channels) : 0
        let scratchSize = paddedInput + flatGradient + paddedGradient + flatInput
        let scratch = bytes(workers * scratchSize)
        let packed = wantsInput ? bytes(backward.packedBytes(rows: shape.channels, columns: shape.outputs)) : nil
        if let packed {
            backward.pack(typed(w, T.self), outputs: shape.outputs, inputs: shape.channels, transposed: true, into: packed.address)
        }
        let inputGradient = wantsInput ? empty(x.shape, dtype: x.dtype) : nil
        let (pdy, px) = (typed(dy, T.self), typed(x, T.self))
        let pdx = inputGradient.map { typed($0, T.self) }
        let plane = shape.outputPlane
        forEachImage(shape.batch, workers: workers) { images, worker in
            let padded = scratch.address + worker * scratchSize
            let flat = padded + paddedInput
            let paddedDy = flat + flatGradient
            let flatDx = (paddedDy + paddedGradient).assumingMemoryBound(to: T.self)
            let weightGradient = typed(weightParts, T.self) + worker * weightSize
            let biasGradient = typed(biasParts, T.self) + worker * shape.outputs
            var first = images.lowerBound
            while first < images.upperBound {
                let part = first..<min(first + chunk, images.upperBound)
                for (slot, image) in part.enumerated() {
                    let outputGradient = pdy + image * shape.outputs * plane
                    for o in 0..<shape.outputs {
                        biasGradient[o] += RowReduction.sum(outputGradient + o * plane, count: plane)
                    }
                    forward.padForWeights(
                        px + image * shape.channels * shape.inputPlane, channels: shape.channels, into: padded + slot * paddedImage)
                    forward.spread(outputGradient, rows: shape.outputs, into: flat + slot * flatImage)
                    guard let pdx, let packed else { continue }
                    backward.padForCorrelation(outputGradient, channels: shape.outputs, into: paddedDy)
                    backward.correlate(paddedDy, channels: shape.outputs, packed.address, rows: shape.channels, into: flatDx)
                    backward.geometry.gather(
                        flatDx, rows: shape.channels, bias: nil, into: pdx + image * shape.channels * shape.inputPlane)
                }
                forward.correlateWeights(
                    flat, rows: shape.outputs, padded, channels: shape.channels, images: part.count, into: weightGradient)
                first = part.upperBound
            }
        }
        let weightGradient = empty(w.shape, dtype: w.dtype)
        let biasGradient = empty([shape.outputs], dtype: w.dtype)
        Self.sumParts(typed(weightParts, T.self), parts: workers, size: weightSize, into: typed(weightGradient, T.self))
        Self.sumParts(typed(biasParts, T.self), parts: workers, size: shape.outputs, into: typed(biasGradient, T.self))
        return (inputGradient, weightGradient, biasGradient)
    }

    /// The operands of a direct convolution in `T`, rounded to bf16 when f32 convolutions run in bf16.
    private func correlationOperands<T: TensorScalar>(_: T.Type, _ geometry: FlatCorrelation) -> CorrelationOperands<T> {
        CorrelationOperands(geometry: geometry, rounded: T.self == Float.self && convolutionPrecision == .bfloat16)
    }

    /// A scratch buffer of `count` bytes (a multiple of four).
    private func bytes(_ count: Int) -> Tensor { empty([max(1, count / 4)], dtype: .i32) }
}

extension ConvolutionShape {
    /// Stride 1, no dilation, one group, more than one tap, padding below the kernel (so the input
    /// gradient is a correlation too): the shapes `FlatCorrelation` runs.
    var suitsDirectKernel: Bool {
        groups == 1 && window.stride == (1, 1) && window.dilation == (1, 1) && !isPointwise
            && window.padding.height < window.kernel.height && window.padding.width < window.kernel.width
    }

    var forwardCorrelation: FlatCorrelation {
        FlatCorrelation(
            sourceHeight: height, sourceWidth: width, kernelHeight: window.kernel.height, kernelWidth: window.kernel.width,
            padHeight: window.padding.height, padWidth: window.padding.width)
    }

    /// The output gradient padded by kernel − 1 − padding, correlated with the flipped kernel, is the input gradient.
    var inputGradientCorrelation: FlatCorrelation {
        FlatCorrelation(
            sourceHeight: outputHeight, sourceWidth: outputWidth, kernelHeight: window.kernel.height, kernelWidth: window.kernel.width,
            padHeight: window.kernel.height - 1 - window.padding.height, padWidth: window.kernel.width - 1 - window.padding.width)
    }
}
