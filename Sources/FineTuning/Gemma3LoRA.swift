import Autograd
import Compute
import Models
import NeuralNetworks
import TensorOps
import Tensors

/// Gemma 3 (Gemma Team 2025) for fine-tuning: the forward pass of Models' `Gemma3`, written with
/// differentiable ops over the frozen base, LoRA on the configured projections.
///
///     x = √d · embed(tokens)
///     for each block:
///         a = Wo · attention(RoPE(norm_q(Wq · norm(x))), RoPE(norm_k(Wk · norm(x))), Wv · norm(x))
///         x = x + norm(a)
///         f = Wdown · (GELU(Wgate · norm(x)) ⊙ Wup · norm(x))
///         x = x + norm(f)
///     hidden = norm(x)                 logits = E · hidden
///
/// Five sliding-window layers for every global one: within a training sequence no longer than the
/// window (`maximumSequenceLength`) every layer sees the whole causal prefix, so all attend causally;
/// local layers rotate with base 10,000, global ones with the file's base and linear scaling.
final class Gemma3LoRA: FineTuningModel {
    let configuration: ModelConfiguration
    let backend: any TensorBackend
    let tokenEmbedding: Weight
    var output: Weight { tokenEmbedding }
    let outputNorm: Variable
    let blocks: [Block]
    let localRotary: RotaryEmbedding
    let globalRotary: RotaryEmbedding
    let adapted: [String: LoRALinear]
    let slidingWindowPattern = 6
    var maximumSequenceLength: Int? { configuration.slidingWindow }

    struct Block {
        let attentionNorm, queryNorm, keyNorm, postAttentionNorm, feedForwardNorm, postFeedForwardNorm: Variable
        let query, key, value, attentionOutput, gate, up, down: LoRALinear
        /// The block's trainable LoRA matrices (a checkpointed block names them: see `checkpointed`).
        var parameters: [Variable] { [query, key, value, attentionOutput, gate, up, down].flatMap(\.parameters) }
    }

    init(configuration c: ModelConfiguration, base: inout FrozenBase) throws {
        configuration = c
        backend = base.backend
        guard c.slidingWindow != nil else { throw FineTuningError("gemma3.attention.sliding_window is missing") }
        guard c.ropeDimensions == c.headDim else {
            throw FineTuningError(
                "partial rotary embeddings (\(c.ropeDimensions) of \(c.headDim) dimensions) are not supported for fine-tuning")
        }
        let d = c.embeddingLength
        tokenEmbedding = try base.matrix("token_embd.weight", [d, c.vocabularySize])
        if try base.loader.loadIfPresent("output.weight", shape: [d, c.vocabularySize]) != nil {
            throw FineTuningError("gemma3 ties its output to token_embd; a separate output.weight is not supported")
        }
        outputNorm = try base.norm("output_norm.weight", d)
        var blocks: [Block] = []
        for layer in 0..<c.blockCount {
            func norm(_ name: String, _ length: Int) throws -> Variable { try base.norm("blk.\(layer).\(name).weight", length) }
            blocks.append(
                Block(
                    attentionNorm: try norm("attn_norm", d), queryNorm: try norm("attn_q_norm", c.headDim),
                    keyNorm: try norm("attn_k_norm", c.headDim), postAttentionNorm: try norm("post_attention_norm", d),
                    feedForwardNorm: try norm("ffn_norm", d), postFeedForwardNorm: try norm("post_ffw_norm", d),
                    query: try base.projection(.q, layer: layer, inputs: d, outputs: c.queryWidth),
                    key: try base.projection(.k, layer: layer, inputs: d, outputs: c.kvWidth),
                    value: try base.projection(.v, layer: layer, inputs: d, outputs: c.kvWidth),
                    attentionOutput: try base.projection(.o, layer: layer, inputs: c.queryWidth, outputs: d),
                    gate: try base.projection(.gate, layer: layer, inputs: d, outputs: c.feedForwardLength),
                    up: try base.projection(.up, layer: layer, inputs: d, outputs: c.feedForwardLength),
                    down: try base.projection(.down, layer: layer, inputs: c.feedForwardLength, outputs: d)))
        }
        self.blocks = blocks
        // llama.cpp hard-codes the local layers' base (`rope_freq_base_train_swa`), as Models' Gemma3 does.
        localRotary = RotaryEmbedding(theta: 10_000, pairing: .halves)
        globalRotary = RotaryEmbedding(theta: Double(c.ropeBase), pairing: .halves, positionScale: Double(c.ropeFrequencyScale))
        adapted = Dictionary(
            uniqueKeysWithValues: blocks.flatMap { [$0.query, $0.key, $0.value, $0.attentionOutput, $0.gate, $0.up, $0.down] }
                .filter { $0.update != nil }.map { ($0.base.name, $0) })
    }

    func isGlobal(_ layer: Int) -> Bool { layer % slidingWindowPattern == slidingWindowPattern - 1 }

    func hidden(_ ids: Tensor, checkpointing: Bool) -> Variable {
        let (batch, time) = (ids.shape[0], ids.shape[1])
        let c = configuration
        precondition(
            time <= maximumSequenceLength ?? time,
            "gemma3 fine-tuning sequences are at most the sliding window (\(c.slidingWindow ?? 0)) long")
        let eps = Double(c.rmsEpsilon)
        var x = Variable.frozenEmbedding(ids, table: tokenEmbedding, scale: Double(Float(c.embeddingLength).squareRoot()), backend: backend)
        for (layer, block) in blocks.enumerated() {
            let rotary = isGlobal(layer) ? globalRotary : localRotary
            let step = { (x: Variable) -> Variable in
                let h = x.rmsNorm(weight: block.attentionNorm, epsilon: eps)
                let q = block.query(h).reshaped([batch, time, c.headCount, c.headDim]).rmsNorm(weight: block.queryNorm, epsilon: eps).rope(
                    rotary)
                let k = block.key(h).reshaped([batch, time, c.headCountKV, c.headDim]).rmsNorm(weight: block.keyNorm, epsilon: eps).rope(
                    rotary)
                let v = block.value(h).reshaped([batch, time, c.headCountKV, c.headDim])
                let attention = Variable.causalAttention(query: q, key: k, value: v, scale: 1 / Double(c.headDim).squareRoot())
                let a = block.attentionOutput(attention.reshaped([batch, time, c.queryWidth]))
                let x = x + a.rmsNorm(weight: block.postAttentionNorm, epsilon: eps)
                let f = x.rmsNorm(weight: block.feedForwardNorm, epsilon: eps)
                let down = block.down(Variable.gated(.geluTanh, gate: block.gate(f), up: block.up(f)))
                return x + down.rmsNorm(weight: block.postFeedForwardNorm, epsilon: eps)
            }
            x = checkpointing ? checkpointed([x], parameters: block.parameters) { step($0[0]) } : step(x)
        }
        return x.rmsNorm(weight: outputNorm, epsilon: eps).reshaped([-1, c.embeddingLength])
    }
}
