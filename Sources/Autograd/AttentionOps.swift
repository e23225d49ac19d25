import TensorOps
import Tensors

/// Fused causal self-attention as one differentiable op.
extension Variable {
    /// Causal softmax attention of query [B, T, H, D] over key and value [B, T, Hkv, D] (query head h
    /// reads key/value head h / (H/Hkv)), scores `scale · q·k` → [B, T, H, D]. The softmax weights
    /// [B, H, T, T] are kept for the backward rule.
    public static func causalAttention(query: Variable, key: Variable, value: Variable, scale: Double) -> Variable {
        let backend = query.backend
        let (q, k, v) = (query.value, key.value, value.value)
        let (output, weights) = backend.causalAttention(query: q, key: k, value: v, scale: scale)
        return Variable(output, backend: backend, inputs: [query, key, value], name: "causalAttention") { gradient in
            let inputs = backend.causalAttentionBackward(gradient: gradient, query: q, key: k, value: v, weights: weights, scale: scale)
            return [inputs.query, inputs.key, inputs.value]
        }
    }
}
