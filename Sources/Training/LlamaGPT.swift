import Autograd
import NeuralNetworks
import TensorOps
import Tensors

/// A Llama-architecture decoder for training (Touvron et al. 2023): token embeddings, pre-norm
/// blocks of rotary grouped-query attention and a SwiGLU feed-forward, a final RMSNorm, and the
/// output projection — tied to the embedding table by default. docs/TRAINING.md writes out the
/// forward pass; parameters carry their GGUF names, so what trains here is what llama.cpp runs.
public final class LlamaGPT: Layer {
    public let hyperparameters: LlamaHyperparameters
    public let backend: any TensorBackend
    public let embedding: Embedding
    public let blocks: [DecoderBlock]
    public let outputNorm: RMSNorm
    /// nil when the output projection is the embedding table.
    public let output: Linear?

    /// Fresh weights with GPT-2's initialisation: N(0, 0.02²), the two residual projections of each
    /// block scaled by 1/√(2L) so the residual stream's variance does not grow with depth.
    public convenience init(hyperparameters h: LlamaHyperparameters, backend: any TensorBackend, seed: UInt64, dtype: DType = .f32) throws {
        var random = SeededRandom(seed: seed)
        let std = 0.02, residualStd = 0.02 / Double(2 * h.layers).squareRoot()
        var weights: [String: Variable] = [:]
        func normal(_ name: String, _ shape: [Int], _ std: Double) {
            weights[name] = Initialization.normal(shape, std: std, name: name, backend: backend, random: &random, dtype: dtype)
        }
        normal("token_embd.weight", [h.vocabularySize, h.width], std)
        let (q, kv) = (h.heads * h.headWidth, h.kvHeads * h.headWidth)
        for layer in 0..<h.layers {
            let prefix = "blk.\(layer)."
            normal(prefix + "attn_q.weight", [q, h.width], std)
            normal(prefix + "attn_k.weight", [kv, h.width], std)
            normal(prefix + "attn_v.weight", [kv, h.width], std)
            normal(prefix + "attn_output.weight", [h.width, q], residualStd)
            normal(prefix + "ffn_gate.weight", [h.ffnWidth, h.width], std)
            normal(prefix + "ffn_up.weight", [h.ffnWidth, h.width], std)
            normal(prefix + "ffn_down.weight", [h.width, h.ffnWidth], residualStd)
        }
        if !h.tiedEmbeddings { normal("output.weight", [h.vocabularySize, h.width], std) }
        for name in LlamaGPT.parameterNames(h) where name.hasSuffix("norm.weight") {
            let ones = backend.zeros([h.width], dtype: dtype)
            backend.fill(ones, with: 1)
            weights[name] = Variable(ones, backend: backend, requiresGradient: true, name: name)
        }
        try self.init(hyperparameters: h, parameters: weights, backend: backend)
    }

    /// A model over given parameter variables (a checkpoint, a fixture), keyed by GGUF name.
    public init(hyperparameters h: LlamaHyperparameters, parameters: [String: Variable], backend: any TensorBackend) throws {
        func parameter(_ name: String, _ shape: [Int]) throws -> Variable {
            guard let variable = parameters[name] else { throw TrainingError.missingParameter(name) }
            guard variable.shape == shape else { throw TrainingError.parameterShape(name, expected: shape, found: variable.shape) }
            variable.name = name
            return variable
        }
        self.hyperparameters = h
        self.backend = backend
        let (q, kv) = (h.heads * h.headWidth, h.kvHeads * h.headWidth)
        embedding = Embedding(table: try parameter("token_embd.weight", [h.vocabularySize, h.width]))
        blocks = try (0..<h.layers).map { layer in
            let prefix = "blk.\(layer)."
            let attention = CausalSelfAttention(
                query: Linear(weight: try parameter(prefix + "attn_q.weight", [q, h.width])),
                key: Linear(weight: try parameter(prefix + "attn_k.weight", [kv, h.width])),
                value: Linear(weight: try parameter(prefix + "attn_v.weight", [kv, h.width])),
                output: Linear(weight: try parameter(prefix + "attn_output.weight", [h.width, q])),
                heads: h.heads, kvHeads: h.kvHeads, ropeTheta: Double(h.ropeTheta))
            let feedForward = GatedMLP(
                gate: Linear(weight: try parameter(prefix + "ffn_gate.weight", [h.ffnWidth, h.width])),
                up: Linear(weight: try parameter(prefix + "ffn_up.weight", [h.ffnWidth, h.width])),
                down: Linear(weight: try parameter(prefix + "ffn_down.weight", [h.width, h.ffnWidth])))
            return DecoderBlock(
                attentionNorm: RMSNorm(weight: try parameter(prefix + "attn_norm.weight", [h.width]), epsilon: Double(h.normEpsilon)),
                attention: attention,
                feedForwardNorm: RMSNorm(weight: try parameter(prefix + "ffn_norm.weight", [h.width]), epsilon: Double(h.normEpsilon)),
                feedForward: feedForward)
        }
        outputNorm = RMSNorm(weight: try parameter("output_norm.weight", [h.width]), epsilon: Double(h.normEpsilon))
        output = h.tiedEmbeddings ? nil : Linear(weight: try parameter("output.weight", [h.vocabularySize, h.width]))
        let expected = Set(LlamaGPT.parameterNames(h))
        if let unknown = parameters.keys.first(where: { !expected.contains($0) }) { throw TrainingError.unexpectedParameter(unknown) }
    }

    /// Every parameter name in the order `parameters` lists them (and checkpoints store them).
    public static func parameterNames(_ h: LlamaHyperparameters) -> [String] {
        var names = ["token_embd.weight"]
        for layer in 0..<h.layers {
            let prefix = "blk.\(layer)."
            names += ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"].map {
                prefix + $0 + ".weight"
            }
        }
        names.append("output_norm.weight")
        if !h.tiedEmbeddings { names.append("output.weight") }
        return names
    }

    public var parameters: [Variable] {
        embedding.parameters + blocks.flatMap(\.parameters) + outputNorm.parameters + (output?.parameters ?? [])
    }

    /// Logits [B·T, V] for token ids [B, T] (i32). With `dropout`, its probability applies after the
    /// embedding and on each block's two residual branches, every site's mask seeded from
    /// `dropout.seed`; with `checkpointing`, each block's activations are recomputed in backward.
    public func logits(_ ids: Tensor, dropout: ForwardDropout? = nil, checkpointing: Bool = false) -> Variable {
        precondition(ids.rank == 2 && ids.dtype == .i32, "token ids must be i32 [batch, time], not \(ids.dtype) \(ids.shape)")
        var x = embedding(ids)
        if let dropout { x = x.dropout(probability: dropout.probability, seed: dropout.seed(site: 0)) }
        for (layer, block) in blocks.enumerated() {
            let plan = dropout.map {
                BlockDropout(
                    probability: $0.probability, attentionSeed: $0.seed(site: 2 * layer + 1), feedForwardSeed: $0.seed(site: 2 * layer + 2))
            }
            x = checkpointing ? checkpointed([x]) { block($0[0], dropout: plan) } : block(x, dropout: plan)
        }
        let normed = outputNorm(x).reshaped([-1, hyperparameters.width])
        return output.map { $0(normed) } ?? normed.linear(embedding.table)
    }

    /// Mean cross-entropy of `targets` (i32 [B, T]; `ignoreIndex` entries count for nothing).
    public func loss(_ ids: Tensor, targets: Tensor, dropout: ForwardDropout? = nil, checkpointing: Bool = false, ignoreIndex: Int32 = -1)
        -> Variable
    {
        logits(ids, dropout: dropout, checkpointing: checkpointing).crossEntropy(targets: targets.reshaped([-1]), ignoreIndex: ignoreIndex)
    }
}

/// Dropout for one forward pass: a probability and a seed from which every site's mask seed derives.
public struct ForwardDropout: Sendable {
    public var probability: Double
    public var seed: UInt64

    public init(probability: Double, seed: UInt64) {
        self.probability = probability
        self.seed = seed
    }

    /// A well-mixed seed per site (SplitMix64 of seed and site), so masks of different sites are unrelated.
    func seed(site: Int) -> UInt64 {
        var z = seed &+ UInt64(site + 1) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension LlamaGPT {
    /// A model whose parameters are a checkpoint's saved values (f32), by GGUF name.
    public convenience init(
        hyperparameters h: LlamaHyperparameters, restoring tensors: [String: (shape: [Int], values: [Float])], backend: any TensorBackend
    )
        throws
    {
        var parameters: [String: Variable] = [:]
        for name in LlamaGPT.parameterNames(h) {
            guard let saved = tensors[name] else { throw TrainingError.missingParameter(name) }
            parameters[name] = Variable(
                backend.tensor(saved.values, shape: saved.shape), backend: backend, requiresGradient: true, name: name)
        }
        try self.init(hyperparameters: h, parameters: parameters, backend: backend)
    }

    /// The parameters' current values on the host, by GGUF name (what the exports write).
    public func namedWeights() -> NamedWeights {
        var weights = NamedWeights()
        for parameter in parameters { weights.set(parameter.name, shape: parameter.shape, values: backend.floats(parameter.value)) }
        return weights
    }
}
