import Tensors

/// The backend's entry to `FlatCorrelation`: images split over the pool's workers as for im2col,
/// each worker with its own padded-image and flat-output scratch.
extension CPUTensorBackend {
    func directConv2dKernel<T: TensorScalar>(
        _: T.Type, _ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ shape: ConvolutionShape, into result: Tensor
    ) {
        if T.self == Float.self && convolvesInBFloat16 { return directConv2dBFloat16(x, w, bias, shape, into: result) }
        let geometry = shape.forwardCorrelation
        let rows = FlatCorrelation.blocks(shape.outputs) * FlatCorrelation.outputBlock
        let packed = empty([rows * shape.channels * geometry.taps], dtype: x.dtype)
        FlatCorrelation.pack(
            typed(w, T.self), outputs: shape.outputs, inputs: shape.channels, taps: geometry.taps, transposed: false,
            into: typed(packed, T.self))
        let workers = min(pool.threadCount, max(1, shape.batch))
        let paddedSize = shape.channels * geometry.planeStride
        let scratchSize = paddedSize + rows * geometry.positions
        let scratch = empty([workers * scratchSize], dtype: x.dtype)
        let (px, py, pw) = (typed(x, T.self), typed(result, T.self), typed(packed, T.self))
        let pb = bias.map { UnsafePointer(typed($0, T.self)) }
        forEachImage(shape.batch, workers: workers) { images, worker in
            let padded = typed(scratch, T.self) + worker * scratchSize
            let flat = padded + paddedSize
            for image in images {
                geometry.pad(px + image * shape.channels * shape.inputPlane, channels: shape.channels, into: padded)
                geometry.correlate(padded, channels: shape.channels, pw, rows: shape.outputs, into: flat)
                geometry.gather(flat, rows: shape.outputs, bias: pb, into: py + image * shape.outputs * shape.outputPlane)
            }
        }
    }

    func directConv2dBackwardKernel<T: TensorScalar>(
        _: T.Type, _ dy: Tensor, _ x: Tensor, _ w: Tensor, _ shape: ConvolutionShape, _ wantsInput: Bool
    ) -> (input: Tensor?, weight: Tensor, bias: Tensor) {
        if T.self == Float.self && convolvesInBFloat16 { return directConv2dBackwardBFloat16(dy, x, w, shape, wantsInput) }
        let forward = shape.forwardCorrelation, backward = shape.inputGradientCorrelation
        let outputRows = FlatCorrelation.blocks(shape.outputs) * FlatCorrelation.outputBlock
        let inputRows = FlatCorrelation.blocks(shape.channels) * FlatCorrelation.outputBlock
        let workers = min(pool.threadCount, max(1, shape.batch))
        let weightSize = shape.outputs * shape.channels * forward.taps
        let weightParts = zeros([workers, weightSize], dtype: x.dtype)
        let biasParts = zeros([workers, shape.outputs], dtype: x.dtype)
        // Per worker: the padded inputs and flat output gradients of the images whose weight
        // gradients are summed together, then one image's padded output gradient and flat input
        // gradient.
        let chunk = forward.weightGradientImages
        let paddedImage = shape.channels * forward.planeStride
        let flatImage = outputRows * forward.positions
        let paddedInput = chunk * paddedImage
        let flatGradient = chunk * flatImage
        let paddedGradient = wantsInput ? shape.outputs * backward.planeStride : 0
        let flatInput = wantsInput ? inputRows * backward.positions : 0
        let scratchSize = paddedInput + flatGradient + paddedGradient + flatInput
        let scratch = empty([workers * scratchSize], dtype: x.dtype)
        let packed = wantsInput ? empty([inputRows * shape.outputs * forward.taps], dtype: x.dtype) : nil
        if let packed {
            FlatCorrelation.pack(
                typed(w, T.self), outputs: shape.outputs, inputs: shape.channels, taps: forward.taps, transposed: true,
                into: typed(packed, T.self))
        }
        let inputGradient = wantsInput ? empty(x.shape, dtype: x.dtype) : nil
        let (pdy, px) = (typed(dy, T.self), typed(x, T.self))
        let pdx = inputGradient.map { typed($0, T.self) }
        let pw = packed.map { UnsafePointer(typed($0, T.self)) }
        let plane = shape.outputPlane
        forEachImage(shape.batch, workers: workers) { images, worker in
            let padded = typed(scratch, T.self) + worker * scratchSize
            let flat = padded + paddedInput
            let paddedDy = flat + flatGradient
            let flatDx = paddedDy + paddedGradient
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
                    forward.pad(px + image * shape.channels * shape.inputPlane, channels: shape.channels, into: padded + slot * paddedImage)
                    forward.spread(outputGradient, rows: shape.outputs, into: flat + slot * flatImage)
                    guard let pdx, let pw else { continue }
                    backward.pad(outputGradient, channels: shape.outputs, into: paddedDy)
                    backward.correlate(paddedDy, channels: shape.outputs, pw, rows: shape.channels, into: flatDx)
                    backward.gather(flatDx, rows: shape.channels, bias: nil, into: pdx + image * shape.channels * shape.inputPlane)
                }
                forward.correlateWeights(
                    flat, rows: shape.outputs, padded, channels: shape.channels, images: part.count, flatImageStride: flatImage,
                    paddedImageStride: paddedImage, into: weightGradient)
                first = part.upperBound
            }
        }
        let weightGradient = empty(w.shape, dtype: w.dtype)
        let biasGradient = empty([shape.outputs], dtype: w.dtype)
        Self.sumParts(typed(weightParts, T.self), parts: workers, size: weightSize, into: typed(weightGradient, T.self))
        Self.sumParts(typed(biasParts, T.self), parts: workers, size: shape.outputs, into: typed(biasGradient, T.self))
        return (inputGradient, weightGradient, biasGradient)
    }
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
