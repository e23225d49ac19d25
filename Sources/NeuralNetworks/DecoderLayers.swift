import Autograd
import TensorOps
import Tensors

#if canImport(Glibc)
import Glibc
#endif

/// Causal multi-head self-attention with rotary positions and grouped-query heads (Llama): queries
/// [B, T, H, d], keys and values [B, T, Hkv, d], each query head reading kv head h / (H/Hkv).
public final class CausalSelfAttention: Layer {
    public let query: Linear, key: Linear, value: Linear, output: Linear
    public let heads: Int, kvHeads: Int, headWidth: Int
    public let ropeTheta: Double

    public init(query: Linear, key: Linear, value: Linear, output: Linear, heads: Int, kvHeads: Int, ropeTheta: Double) {
        precondition(heads % kvHeads == 0 && query.weight.shape[0] % heads == 0, "attention: \(heads) heads, \(kvHeads) kv heads")
        self.query = query
        self.key = key
        self.value = value
        self.output = output
        self.heads = heads
        self.kvHeads = kvHeads
        headWidth = query.weight.shape[0] / heads
        self.ropeTheta = ropeTheta
    }

    public var parameters: [Variable] { query.parameters + key.parameters + value.parameters + output.parameters }

    /// x [B, T, D] → [B, T, D].
    public func callAsFunction(_ x: Variable) -> Variable {
        let (batch, time) = (x.shape[0], x.shape[1])
        let q = query(x).reshaped([batch, time, heads, headWidth]).rope(theta: ropeTheta)
        let k = key(x).reshaped([batch, time, kvHeads, headWidth]).rope(theta: ropeTheta)
        let v = value(x).reshaped([batch, time, kvHeads, headWidth])
        let attended = Variable.causalAttention(query: q, key: k, value: v, scale: 1 / Double(headWidth).squareRoot())
        return output(attended.reshaped([batch, time, heads * headWidth]))
    }
}

/// The gated feed-forward block: down(activation(gate·x) ⊙ up·x) (SwiGLU with SiLU, Shazeer 2020).
public final class GatedMLP: Layer {
    public let gate: Linear, up: Linear, down: Linear
    public let activation: Activation

    public init(gate: Linear, up: Linear, down: Linear, activation: Activation = .silu) {
        self.gate = gate
        self.up = up
        self.down = down
        self.activation = activation
    }

    public var parameters: [Variable] { gate.parameters + up.parameters + down.parameters }

    public func callAsFunction(_ x: Variable) -> Variable {
        down(Variable.gated(activation, gate: gate(x), up: up(x)))
    }
}

/// Where dropout applies in a block, and with which seeds (fixed before the forward pass, so a
/// checkpointed block's recomputation draws the same masks).
public struct BlockDropout: Sendable {
    public var probability: Double
    public var attentionSeed: UInt64
    public var feedForwardSeed: UInt64

    public init(probability: Double, attentionSeed: UInt64, feedForwardSeed: UInt64) {
        self.probability = probability
        self.attentionSeed = attentionSeed
        self.feedForwardSeed = feedForwardSeed
    }
}

/// A pre-norm Llama decoder block: x + attention(norm(x)), then + mlp(norm(·)).
public final class DecoderBlock: Layer {
    public let attentionNorm: RMSNorm, attention: CausalSelfAttention
    public let feedForwardNorm: RMSNorm, feedForward: GatedMLP

    public init(attentionNorm: RMSNorm, attention: CausalSelfAttention, feedForwardNorm: RMSNorm, feedForward: GatedMLP) {
        self.attentionNorm = attentionNorm
        self.attention = attention
        self.feedForwardNorm = feedForwardNorm
        self.feedForward = feedForward
    }

    public var parameters: [Variable] {
        attentionNorm.parameters + attention.parameters + feedForwardNorm.parameters + feedForward.parameters
    }

    public func callAsFunction(_ x: Variable, dropout: BlockDropout? = nil) -> Variable {
        var attended = attention(attentionNorm(x))
        if let dropout { attended = attended.dropout(probability: dropout.probability, seed: dropout.attentionSeed) }
        let h = x + attended
        var transformed = feedForward(feedForwardNorm(h))
        if let dropout { transformed = transformed.dropout(probability: dropout.probability, seed: dropout.feedForwardSeed) }
        return h + transformed
    }
}
