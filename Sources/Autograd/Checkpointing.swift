import TensorOps
import Tensors

/// Gradient checkpointing: runs `body` without keeping its intermediate results, and runs it again
/// during backward to get them. Memory for the block's activations is spent only while its own
/// backward runs, at the price of a second forward pass.
///
/// `body` must compute the same thing both times: it may read parameters (they receive their
/// gradients during the recomputation) but must take any randomness from values fixed before the
/// call (dropout seeds derived from the step and the layer, not drawn inside).
///
/// `parameters` are the trainable leaves `body` reads. They must be named: when no input needs a
/// gradient (the first block after a frozen embedding, in LoRA fine-tuning) the block's result
/// would otherwise look constant, and backward would never reach the block — its parameters
/// would silently get no gradient.
public func checkpointed(_ inputs: [Variable], parameters: [Variable] = [], _ body: @escaping ([Variable]) -> Variable) -> Variable {
    precondition(!inputs.isEmpty, "checkpointed block with no inputs")
    let backend = inputs[0].backend
    let firstPass = withoutGradients { body(inputs.map { $0.detached() }) }
    guard GradientRecording.isEnabled else { return firstPass }
    return Variable(firstPass.value, backend: backend, inputs: inputs + parameters, name: "checkpoint") { gradient in
        let fresh = inputs.map { Variable($0.value, backend: backend, requiresGradient: $0.requiresGradient, name: $0.name) }
        let recomputed = GradientRecording.$isEnabled.withValue(true) { body(fresh) }
        recomputed.backward(gradient: gradient)
        // Parameters received their gradients during the recomputation's backward.
        return fresh.map(\.gradient) + parameters.map { _ in nil }
    }
}
