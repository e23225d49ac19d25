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
    /// inputs] and B [outputs, r]) as one op: the low-rank product is added into the frozen
    /// product's buffer by the GEMM itself (alpha = scale, beta = 1), and backward adds A's share of
    /// the input gradient into the frozen share the same way — the composed ops made and read two
    /// more [tokens, outputs] tensors a projection (the scaled branch and the sum) and one more
    /// [tokens, inputs] (the two input gradients' sum). Keeps the input and x · Aᵀ, as the
    /// composition did.
    public func loraLinear(_ weight: Weight, a: Variable, b: Variable, scale: Double) -> Variable {
        let backend = self.backend
        let shape = value.shape
        let x = backend.contiguous(value).reshaped([-1, weight.columns])
        let (aValue, bValue) = (a.value, b.value)
        let output = backend.frozenLinear(x, weight: weight)
        let down = backend.matmul(x, aValue, transposeA: false, transposeB: true)
        backend.matmul(down, bValue, transposeA: false, transposeB: true, factor: scale, addingInto: output)
        let (aSlot, bSlot) = (a.slot, b.slot)
        return Variable(
            output.reshaped(Array(shape.dropLast()) + [weight.rows]), backend: backend, inputs: [self, a, b], name: weight.name + " + LoRA"
        ) { gradient in
            let g = backend.contiguous(gradient).reshaped([-1, weight.rows])
            // d(x·Aᵀ) = scale · g · B: small, [tokens, r].
            let downGradient = backend.scale(backend.matmul(g, bValue, transposeA: false, transposeB: false), by: scale)
            let inputGradient = backend.contiguous(backend.frozenLinearInputGradient(g, weight: weight))
            backend.matmul(downGradient, aValue, transposeA: false, transposeB: false, factor: 1, addingInto: inputGradient)
            let aGradient = aSlot.requiresGradient ? backend.matmul(downGradient, x, transposeA: true, transposeB: false) : nil
            let bGradient =
                bSlot.requiresGradient ? backend.scale(backend.matmul(g, down, transposeA: true, transposeB: false), by: scale) : nil
            return [inputGradient.reshaped(shape), aGradient, bGradient]
        }
    }

    /// `scale × table[indices]` from a frozen table: a constant (no gradient reaches a frozen table).
    public static func frozenEmbedding(_ indices: Tensor, table: Weight, scale: Double, backend: any TensorBackend, dtype: DType = .f32)
        -> Variable
    {
        Variable(backend.frozenEmbedding(indices, table: table, scale: scale, dtype: dtype), backend: backend, name: table.name)
    }
}
