import Tensors

/// The direct convolutions under `ProductPrecision.bfloat16`: `CPUDirectConvolution`'s image split
/// and per-worker scratch, with `BFloat16Correlation`'s layouts. Scratch is allocated in 32-bit
/// elements; the bf16 planes take half an element per value.
extension CPUTensorBackend {
    /// Whether f32 direct convolutions run in bf16.
    var convolvesInBFloat16: Bool { convolutionPrecision == .bfloat16 }

    func directConv2dBFloat16(_ x: Tensor, _ w: Tensor, _ bias: Tensor?, _ shape: ConvolutionShape, into result: Tensor) {
        let geometry = shape.forwardCorrelation
        let rows = FlatCorrelation.blocks(shape.outputs) * FlatCorrelation.outputBlock
        let packed = empty([rows * ((shape.channels + 1) / 2) * geometry.taps], dtype: .i32)
        FlatCorrelation.packPairs(
            typed(w, Float.self), outputs: shape.outputs, inputs: shape.channels, taps: geometry.taps, transposed: false,
            into: typed(packed, UInt32.self))
        let workers = min(pool.threadCount, max(1, shape.batch))
        let paddedSize = geometry.pairedWords(channels: shape.channels)
        let scratchSize = paddedSize + rows * geometry.positions
        let scratch = empty([workers * scratchSize], dtype: .f32)
        let (px, py, pw) = (typed(x, Float.self), typed(result, Float.self), typed(packed, UInt32.self))
        let pb = bias.map { UnsafePointer(typed($0, Float.self)) }
        forEachImage(shape.batch, workers: workers) { images, worker in
            let padded = words(scratch, at: worker * scratchSize, as: UInt32.self)
            let flat = words(scratch, at: worker * scratchSize + paddedSize, as: Float.self)
            for image in images {
                geometry.padPairs(px + image * shape.channels * shape.inputPlane, channels: shape.channels, into: padded)
                geometry.correlatePairs(padded, channels: shape.channels, pw, rows: shape.outputs, into: flat)
                geometry.gather(flat, rows: shape.outputs, bias: pb, into: py + image * shape.outputs * shape.outputPlane)
            }
        }
    }

    func directConv2dBackwardBFloat16(_ dy: Tensor, _ x: Tensor, _ w: Tensor, _ shape: ConvolutionShape, _ wantsInput: Bool)
        -> (input: Tensor?, weight: Tensor, bias: Tensor)
    {
        let forward = shape.forwardCorrelation, backward = shape.inputGradientCorrelation
        let inputRows = FlatCorrelation.blocks(shape.channels) * FlatCorrelation.outputBlock
        let workers = min(pool.threadCount, max(1, shape.batch))
        let weightSize = shape.outputs * shape.channels * forward.taps
        let weightParts = zeros([workers, weightSize], dtype: .f32)
        let biasParts = zeros([workers, shape.outputs], dtype: .f32)
        // Per worker, in 32-bit elements: the padded inputs and flat output gradients in bf16 of
        // the images whose weight gradients are summed together, then one image's padded output
        // gradient in channel pairs and flat input gradient.
        let chunk = forward.weightGradientImages
        let paddedImage = shape.channels * forward.planeStride
        let flatImage = FlatCorrelation.roundedFlatValues(rows: shape.outputs, positions: forward.positions)
        let paddedInput = (chunk * paddedImage + 1) / 2
        let flatGradient = (chunk * flatImage + 1) / 2
        let paddedGradient = wantsInput ? backward.pairedWords(channels: shape.outputs) : 0
        let flatInput = wantsInput ? inputRows * backward.positions : 0
        let scratchSize = paddedInput + flatGradient + paddedGradient + flatInput
        let scratch = empty([workers * scratchSize], dtype: .f32)
        let packed = wantsInput ? empty([inputRows * ((shape.outputs + 1) / 2) * forward.taps], dtype: .i32) : nil
        if let packed {
            FlatCorrelation.packPairs(
                typed(w, Float.self), outputs: shape.outputs, inputs: shape.channels, taps: forward.taps, transposed: true,
                into: typed(packed, UInt32.self))
        }
        let inputGradient = wantsInput ? empty(x.shape, dtype: .f32) : nil
        let (pdy, px) = (typed(dy, Float.self), typed(x, Float.self))
        let pdx = inputGradient.map { typed($0, Float.self) }
        let pw = packed.map { UnsafePointer(typed($0, UInt32.self)) }
        let plane = shape.outputPlane
        forEachImage(shape.batch, workers: workers) { images, worker in
            let start = worker * scratchSize
            let padded = words(scratch, at: start, as: UInt16.self)
            let flat = words(scratch, at: start + paddedInput, as: UInt16.self)
            let paddedDy = words(scratch, at: start + paddedInput + flatGradient, as: UInt32.self)
            let flatDx = words(scratch, at: start + paddedInput + flatGradient + paddedGradient, as: Float.self)
            let weightGradient = typed(weightParts, Float.self) + worker * weightSize
            let biasGradient = typed(biasParts, Float.self) + worker * shape.outputs
            var first = images.lowerBound
            while first < images.upperBound {
                let part = first..<min(first + chunk, images.upperBound)
                for (slot, image) in part.enumerated() {
                    let outputGradient = pdy + image * shape.outputs * plane
                    for o in 0..<shape.outputs {
                        biasGradient[o] += RowReduction.sum(outputGradient + o * plane, count: plane)
                    }
                    forward.padRounded(
                        px + image * shape.channels * shape.inputPlane, channels: shape.channels, into: padded + slot * paddedImage)
                    forward.spreadRounded(outputGradient, rows: shape.outputs, into: flat + slot * flatImage)
                    guard let pdx, let pw else { continue }
                    backward.padPairs(outputGradient, channels: shape.outputs, into: paddedDy)
                    backward.correlatePairs(paddedDy, channels: shape.outputs, pw, rows: shape.channels, into: flatDx)
                    backward.gather(flatDx, rows: shape.channels, bias: nil, into: pdx + image * shape.channels * shape.inputPlane)
                }
                forward.correlateRoundedWeights(
                    flat, rows: shape.outputs, padded, channels: shape.channels, images: part.count, flatImageStride: flatImage,
                    paddedImageStride: paddedImage, into: weightGradient)
                first = part.upperBound
            }
        }
        let weightGradient = empty(w.shape, dtype: .f32)
        let biasGradient = empty([shape.outputs], dtype: .f32)
        Self.sumParts(typed(weightParts, Float.self), parts: workers, size: weightSize, into: typed(weightGradient, Float.self))
        Self.sumParts(typed(biasParts, Float.self), parts: workers, size: shape.outputs, into: typed(biasGradient, Float.self))
        return (inputGradient, weightGradient, biasGradient)
    }

    /// `scratch`'s 32-bit elements from `offset` on, seen as `T`.
    private func words<T>(_ scratch: Tensor, at offset: Int, as _: T.Type) -> UnsafeMutablePointer<T> {
        (scratch.address + offset * 4).assumingMemoryBound(to: T.self)
    }
}
