import Tensors

// Placeholder bodies while the kernels are written (each moves to its own file); removed before commit of the feature.
extension CPUTensorBackend {
    public func embedding(table: Tensor, indices: Tensor) -> Tensor { preconditionFailure("pending") }
    public func embeddingBackward(gradient: Tensor, indices: Tensor, into tableGradient: Tensor) { preconditionFailure("pending") }
    public func rmsNorm(_ x: Tensor, weight: Tensor, epsilon: Double) -> (output: Tensor, inverseRMS: Tensor) {
        preconditionFailure("pending")
    }
    public func rmsNormBackward(gradient: Tensor, input: Tensor, weight: Tensor, inverseRMS: Tensor) -> (input: Tensor, weight: Tensor) {
        preconditionFailure("pending")
    }
    public func layerNorm(_ x: Tensor, weight: Tensor, bias: Tensor?, epsilon: Double) -> (output: Tensor, mean: Tensor, inverseStd: Tensor)
    {
        preconditionFailure("pending")
    }
    public func layerNormBackward(gradient: Tensor, input: Tensor, weight: Tensor, mean: Tensor, inverseStd: Tensor)
        -> (input: Tensor, weight: Tensor, bias: Tensor)
    { preconditionFailure("pending") }
    public func rope(_ x: Tensor, theta: Double, firstPosition: Int, inverse: Bool) -> Tensor { preconditionFailure("pending") }
    public func activation(_ kind: Activation, _ x: Tensor) -> Tensor { preconditionFailure("pending") }
    public func activationBackward(_ kind: Activation, gradient: Tensor, input: Tensor) -> Tensor { preconditionFailure("pending") }
    public func gated(_ kind: Activation, gate: Tensor, up: Tensor) -> Tensor { preconditionFailure("pending") }
    public func gatedBackward(_ kind: Activation, gradient: Tensor, gate: Tensor, up: Tensor) -> (gate: Tensor, up: Tensor) {
        preconditionFailure("pending")
    }
    public func dropout(_ x: Tensor, probability: Double, seed: UInt64) -> (output: Tensor, mask: Tensor) { preconditionFailure("pending") }
    public func softmax(_ x: Tensor) -> Tensor { preconditionFailure("pending") }
    public func softmaxBackward(gradient: Tensor, output: Tensor) -> Tensor { preconditionFailure("pending") }
    public func crossEntropy(logits: Tensor, targets: Tensor, ignoreIndex: Int32) -> (loss: Tensor, logSumExp: Tensor, counted: Int) {
        preconditionFailure("pending")
    }
    public func crossEntropyBackward(
        lossGradient: Tensor, logits: Tensor, targets: Tensor, logSumExp: Tensor, ignoreIndex: Int32, counted: Int
    ) -> Tensor { preconditionFailure("pending") }
}
