import TensorOps
import Tensors

/// The image ops ([batch, channels, height, width]) as differentiable operations.
extension Variable {
    /// 2-D convolution with this variable as the input (see `TensorBackend.conv2d`). The input's
    /// gradient is computed only when something upstream needs it (not for the images themselves).
    public func conv2d(weight: Variable, bias: Variable?, window: Window2D, groups: Int = 1) -> Variable {
        let backend = self.backend
        let (x, w) = (value, weight.value)
        let output = backend.conv2d(x, weight: w, bias: bias?.value, window: window, groups: groups)
        let inputs = [self, weight] + (bias.map { [$0] } ?? [])
        let needsInput = requiresGradient
        let (weightSlot, biasSlot) = (weight.slot, bias?.slot)
        return Variable(output, backend: backend, inputs: inputs, name: "conv2d") { gradient in
            let gradients = backend.conv2dBackward(
                gradient: gradient, input: x, weight: w, window: window, groups: groups, inputGradient: needsInput)
            var result: [Tensor?] = [gradients.input, weightSlot.requiresGradient ? gradients.weight : nil]
            if let biasSlot { result.append(biasSlot.requiresGradient ? gradients.bias : nil) }
            return result
        }
    }

    /// Max or average pooling of each channel.
    public func pool2d(_ kind: Pooling, window: Window2D) -> Variable {
        let backend = self.backend
        let shape = value.shape
        let (output, argmax) = backend.pool2d(kind, value, window: window)
        return Variable(output, backend: backend, inputs: [self], name: "\(kind)Pool") { gradient in
            [backend.pool2dBackward(kind, gradient: gradient, inputShape: shape, argmax: argmax, window: window)]
        }
    }

    /// The mean of each channel: [N, C, H, W] → [N, C].
    public func globalAveragePool() -> Variable {
        let (height, width) = (shape[2], shape[3])
        let pooled = pool2d(.average, window: Window2D(kernel: (height, width), stride: (1, 1), padding: (0, 0), dilation: (1, 1)))
        return pooled.reshaped([shape[0], shape[1]])
    }

    /// [N, ...] → [N, product of the rest] (row-major, PyTorch's flatten(1)).
    public func flattened() -> Variable {
        reshaped([shape[0], shape.dropFirst().reduce(1, *)])
    }

    /// Batch normalisation with this batch's statistics over axis 1 (training mode). Returns the
    /// normalised result and the batch's per-channel mean and biased variance (for running statistics).
    public func batchNorm(weight: Variable?, bias: Variable?, epsilon: Double) -> (output: Variable, mean: Tensor, inverseStd: Tensor) {
        let backend = self.backend
        let x = value
        let w = weight?.value
        let (output, mean, inverseStd) = backend.batchNorm(x, weight: w, bias: bias?.value, epsilon: epsilon)
        let inputs = [self] + [weight, bias].compactMap { $0 }
        let (weightSlot, biasSlot) = (weight?.slot, bias?.slot)
        let result = Variable(output, backend: backend, inputs: inputs, name: "batchNorm") { gradient in
            let gradients = backend.batchNormBackward(gradient: gradient, input: x, weight: w, mean: mean, inverseStd: inverseStd)
            var result: [Tensor?] = [gradients.input]
            if let weightSlot { result.append(weightSlot.requiresGradient ? gradients.weight : nil) }
            if let biasSlot { result.append(biasSlot.requiresGradient ? gradients.bias : nil) }
            return result
        }
        return (result, mean, inverseStd)
    }

    /// `x ⊙ scale + shift` per channel with constant scale and shift [C] (batch normalisation in
    /// evaluation mode); the gradient flows to x only.
    public func channelAffine(scale: Tensor, shift: Tensor) -> Variable {
        let backend = self.backend
        let output = backend.channelAffine(value, scale: scale, shift: shift)
        let zero = backend.zeros(shift.shape, dtype: shift.dtype)
        return Variable(output, backend: backend, inputs: [self], name: "channelAffine") { gradient in
            [backend.channelAffine(gradient, scale: scale, shift: zero)]
        }
    }
}
