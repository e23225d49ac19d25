import Autograd
import Compute
import Models
import NeuralNetworks
import TensorOps
import Tensors

/// Llama (Touvron et al. 2023) for fine-tuning: the forward pass of Models' `Llama`, written with
/// differentiable ops over the frozen base, LoRA on the configured projections.
///
///     x = embed(tokens)
///     for each block:
///         x = x + Wo · attention(RoPE(Wq · norm(x)), RoPE(Wk · norm(x)), Wv · norm(x))
///         x = x + Wdown · (SiLU(Wgate · norm(x)) ⊙ Wup · norm(x))
///     hidden = norm(x)                 logits = Wout · hidden  (Wout = the embedding when tied)
///
/// Q and K rows are stored permuted for adjacent-pair rotation (ggml's normal RoPE mode).
final class LlamaLoRA: FineTuningModel {
    let configuration: ModelConfiguration
    let backend: any TensorBackend
    let tokenEmbedding: Weight
    let output: Weight
    let outputNorm: Variable
    let blocks: [Block]
    let rotary: RotaryEmbedding
    let adapted: [String: LoRALinear]
    var maximumSequenceLength: Int? { nil }

    struct Block {
        let attentionNorm, feedForwardNorm: Variable
        let query, key, value, attentionOutput, gate, up, down: LoRALinear
        /// The block's trainable LoRA matrices (a checkpointed block names them: see `checkpointed`).
        var parameters: [Variable] { [query, key, value, attentionOutput, gate, up, down].flatMap(\.parameters) }
    }

    init(configuration c: ModelConfiguration, base: inout FrozenBase) throws {
        configuration = c
        backend = base.backend
        guard c.ropeDimensions == c.headDim else {
            throw FineTuningError(
                "partial rotary embeddings (\(c.ropeDimensions) of \(c.headDim) dimensions) are not supported for fine-tuning")
        }
        guard try base.loader.ropeFrequencyFactors("rope_freqs.weight", count: c.ropeDimensions / 2) == nil else {
            throw FineTuningError("RoPE frequency factors (rope_freqs.weight, Llama 3.1 scaling) are not supported for fine-tuning yet")
        }
        let d = c.embeddingLength
        tokenEmbedding = try base.matrix("token_embd.weight", [d, c.vocabularySize])
        output = try base.loader.loadIfPresent("output.weight", shape: [d, c.vocabularySize]) ?? tokenEmbedding
        outputNorm = try base.norm("output_norm.weight", d)
        var blocks: [Block] = []
        for layer in 0..<c.blockCount {
            blocks.append(
                Block(
                    attentionNorm: try base.norm("blk.\(layer).attn_norm.weight", d),
                    feedForwardNorm: try base.norm("blk.\(layer).ffn_norm.weight", d),
                    query: try base.projection(.q, layer: layer, inputs: d, outputs: c.queryWidth),
                    key: try base.projection(.k, layer: layer, inputs: d, outputs: c.kvWidth),
                    value: try base.projection(.v, layer: layer, inputs: d, outputs: c.kvWidth),
                    attentionOutput: try base.projection(.o, layer: layer, inputs: c.queryWidth, outputs: d),
                    gate: try base.projection(.gate, layer: layer, inputs: d, outputs: c.feedForwardLength),
                    up: try base.projection(.up, layer: layer, inputs: d, outputs: c.feedForwardLength),
                    down: try base.projection(.down, layer: layer, inputs: c.feedForwardLength, outputs: d)))
        }
        self.blocks = blocks
        rotary = RotaryEmbedding(theta: Double(c.ropeBase), pairing: .adjacent, positionScale: Double(c.ropeFrequencyScale))
        adapted = Dictionary(
            uniqueKeysWithValues: blocks.flatMap { [$0.query, $0.key, $0.value, $0.attentionOutput, $0.gate, $0.up, $0.down] }
                .filter { $0.update != nil }.map { ($0.base.name, $0) })
    }

    func hidden(_ ids: Tensor, checkpointing: Bool) -> Variable {
        let (batch, time) = (ids.shape[0], ids.shape[1])
        let c = configuration
        var x = Variable.frozenEmbedding(ids, table: tokenEmbedding, scale: 1, backend: backend)
        for block in blocks {
            let step = { (x: Variable) -> Variable in
                let eps = Double(c.rmsEpsilon)
                let h = x.rmsNorm(weight: block.attentionNorm, epsilon: eps)
                let q = block.query(h).reshaped([batch, time, c.headCount, c.headDim]).rope(self.rotary)
                let k = block.key(h).reshaped([batch, time, c.headCountKV, c.headDim]).rope(self.rotary)
                let v = block.value(h).reshaped([batch, time, c.headCountKV, c.headDim])
                let attention = Variable.causalAttention(query: q, key: k, value: v, scale: 1 / Double(c.headDim).squareRoot())
                let x = x + block.attentionOutput(attention.reshaped([batch, time, c.queryWidth]))
                let f = x.rmsNorm(weight: block.feedForwardNorm, epsilon: eps)
                return x + block.down(Variable.gated(.silu, gate: block.gate(f), up: block.up(f)))
            }
            x = checkpointing ? checkpointed([x], parameters: block.parameters) { step($0[0]) } : step(x)
        }
        return x.rmsNorm(weight: outputNorm, epsilon: Double(c.rmsEpsilon)).reshaped([-1, c.embeddingLength])
    }
}
