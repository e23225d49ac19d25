import Tensors

// Placeholder bodies while the attention kernels are written; removed before commit of the feature.
extension CPUTensorBackend {
    public func causalAttention(query: Tensor, key: Tensor, value: Tensor, scale: Double) -> (output: Tensor, weights: Tensor) {
        preconditionFailure("pending")
    }
    public func causalAttentionBackward(gradient: Tensor, query: Tensor, key: Tensor, value: Tensor, weights: Tensor, scale: Double)
        -> (query: Tensor, key: Tensor, value: Tensor)
    { preconditionFailure("pending") }
}
