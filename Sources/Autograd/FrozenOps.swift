import Compute
import TensorOps
import Tensors

/// Ops on frozen weights (a pretrained base kept in its stored, usually quantized, type): the
/// weight never receives a gradient, so backward needs only `gradient · W`.
extension Variable {
    /// `self · Wᵀ` for self [..., inputs] and the frozen weight W [outputs, inputs].
    public func frozenLinear(_ weight: Weight) -> Variable {
        let backend = self.backend
        return Variable(backend.frozenLinear(value, weight: weight), backend: backend, inputs: [self], name: weight.name) { gradient in
            [backend.frozenLinearInputGradient(gradient, weight: weight)]
        }
    }

    /// LoRA's `self · Wᵀ + scale · (self · Aᵀ) · Bᵀ` (frozen W [outputs, inputs], trainable A [r,
    /// inputs] and B [outputs, r]) as one op: the frozen product is added onto the low-rank
    /// branch by the GEMM itself (beta = 1: no pass zeroing the output first), and backward adds A's share of
    /// the input gradient into the frozen share the same way — the composed ops made and read two
    /// more [tokens, outputs] tensors a projection (the scaled branch and the sum) and one more
    /// [tokens, inputs] (the two input gradients' sum). Keeps the input and x · Aᵀ, as the
    /// composition did.
    public func loraLinear(_ weight: Weight, a: Variable, b: Variable, scale: Double) -> Variable {
        let backend = self.backend
        let shape = value.shape
        let x = backend.contiguous(value).reshaped([-1, weight.columns])
        let (aValue, bValue) = (a.value, b.value)
        let down = backend.matmul(x, aValue, transposeA: false, transposeB: true)
        let output = backend.matmul(backend.scale(down, by: scale), bValue, transposeA: false, transposeB: true)
        backend.frozenLinear(x, weight: weight, addingInto: output)
        let (inputSlot, aSlot, bSlot) = (slot, a.slot, b.slot)
        return Variable(
            output.reshaped(Array(shape.dropLast()) + [weight.rows]), backend: backend, inputs: [self, a, b], name: weight.name + " + LoRA"
        ) { gradient in
            let g = backend.contiguous(gradient).reshaped([-1, weight.rows])
            // d(x·Aᵀ) = scale · g · B: small, [tokens, r].
            let downGradient = backend.scale(backend.matmul(g, bValue, transposeA: false, transposeB: false), by: scale)
            // No input gradient where nothing upstream trains (the first block's q/k/v read the frozen embeddings).
            var inputGradient: Tensor?
            if inputSlot.requiresGradient {
                let frozenShare = backend.contiguous(backend.frozenLinearInputGradient(g, weight: weight))
                backend.matmul(downGradient, aValue, transposeA: false, transposeB: false, factor: 1, addingInto: frozenShare)
                inputGradient = frozenShare.reshaped(shape)
            }
            let aGradient = aSlot.requiresGradient ? backend.matmul(downGradient, x, transposeA: true, transposeB: false) : nil
            let bGradient =
                bSlot.requiresGradient ? backend.scale(backend.matmul(g, down, transposeA: true, transposeB: false), by: scale) : nil
            return [inputGradient, aGradient, bGradient]
        }
    }

    /// Mean cross-entropy of `targets` (i32 [N]) under the logits `self · Wᵀ` of a frozen output
    /// projection W [vocabulary, inputs], self [N, inputs]: `frozenLinear(W).crossEntropy(targets:)`
    /// as one op that never stores the [N, vocabulary] logits. Its input gradient comes out of the
    /// forward pass (the loss is the graph's end, so only a scalar factor is left for backward).
    public func frozenLinearCrossEntropy(_ weight: Weight, targets: Tensor, ignoreIndex: Int32 = -1) -> Variable {
        let backend = self.backend
        let wantsGradient = GradientRecording.isEnabled && requiresGradient
        let (loss, inputGradient, _) = backend.frozenLinearCrossEntropy(
            value, weight: weight, targets: targets, ignoreIndex: ignoreIndex, inputGradient: wantsGradient)
        return Variable(loss, backend: backend, inputs: [self], name: weight.name + " + crossEntropy") { gradient in
            guard let inputGradient else {
                preconditionFailure("\(weight.name) + crossEntropy: backward through an op recorded without gradients")
            }
            return [backend.binary(.multiply, inputGradient, gradient)]
        }
    }

    /// `scale × table[indices]` from a frozen table: a constant (no gradient reaches a frozen table).
    public static func frozenEmbedding(_ indices: Tensor, table: Weight, scale: Double, backend: any TensorBackend, dtype: DType = .f32)
        -> Variable
    {
        Variable(backend.frozenEmbedding(indices, table: table, scale: scale, dtype: dtype), backend: backend, name: table.name)
    }
}
