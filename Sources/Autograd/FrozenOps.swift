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

    /// `scale × table[indices]` from a frozen table: a constant (no gradient reaches a frozen table).
    public static func frozenEmbedding(_ indices: Tensor, table: Weight, scale: Double, backend: any TensorBackend, dtype: DType = .f32)
        -> Variable
    {
        Variable(backend.frozenEmbedding(indices, table: table, scale: scale, dtype: dtype), backend: backend, name: table.name)
    }
}
