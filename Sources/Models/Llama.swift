import Adapters
import Compute
import GGUF

/// The Llama architecture (Touvron et al. 2023): pre-norm decoder blocks of grouped-query
/// attention with rotary position embeddings and a SwiGLU feed-forward network.
///
///     x = embed(tokens)
///     for each block:
///         x = x + Wo · attention(RoPE(Wq · norm(x)), RoPE(Wk · norm(x)), Wv · norm(x))
///         x = x + Wdown · (SiLU(Wgate · norm(x)) ⊙ Wup · norm(x))
///     logits = Wout · norm(x)          (Wout = the embedding table when the file ties them)
///
/// GGUF stores Llama's Q and K rows permuted so that RoPE rotates adjacent pairs.
public final class Llama: LanguageModel, @unchecked Sendable {
    // @unchecked: immutable after init; weights point into the memory-mapped file it retains.
    public let configuration: ModelConfiguration
    public let backend: any ComputeBackend
    let file: GGUFFile
    let tokenEmbedding: Weight
    let outputNorm: Weight
    let output: Weight
    let blocks: [Block]
    /// LoRA adapters applied on top of the projections (none: nothing is added).
    let adapters: LowRankDeltas
    let rope: RopeParameters

    struct Block {
        let attentionNorm, query, key, value, attentionOutput: Weight
        let feedForwardNorm, gate, up, down: Weight
    }

    /// Architectures that share Llama's block and GGUF layout.
    public static let architectures: Set<String> = ["llama", "mistral"]

    public init(
        file: GGUFFile, configuration c: ModelConfiguration, backend: any ComputeBackend,
        adapters: [(adapter: LoRAAdapter, scale: Float)] = []
    ) throws {
        self.file = file
        self.configuration = c
        self.backend = backend
        let weights = WeightLoader(file: file, backend: backend)
        let d = c.embeddingLength
        if let bias = file.tensors.first(where: { $0.name.hasSuffix(".bias") }) {
            throw ModelError("\(file.source): tensor \(bias.name): biases are not supported for the \(c.architecture) architecture")
        }
        tokenEmbedding = try weights.load("token_embd.weight", shape: [d, c.vocabularySize])
        outputNorm = try weights.loadNorm("output_norm.weight", length: d)
        output = try weights.loadIfPresent("output.weight", shape: [d, c.vocabularySize]) ?? tokenEmbedding
        blocks = try (0..<c.blockCount).map { i in
            func load(_ name: String, _ shape: [Int]) throws -> Weight { try weights.load("blk.\(i).\(name).weight", shape: shape) }
            func norm(_ name: String, _ length: Int) throws -> Weight { try weights.loadNorm("blk.\(i).\(name).weight", length: length) }
            return Block(
                attentionNorm: try norm("attn_norm", d),
                query: try load("attn_q", [d, c.queryWidth]),
                key: try load("attn_k", [d, c.kvWidth]),
                value: try load("attn_v", [d, c.kvWidth]),
                attentionOutput: try load("attn_output", [c.queryWidth, d]),
                feedForwardNorm: try norm("ffn_norm", d),
                gate: try load("ffn_gate", [d, c.feedForwardLength]),
                up: try load("ffn_up", [d, c.feedForwardLength]),
                down: try load("ffn_down", [c.feedForwardLength, d]))
        }
        self.adapters =
            adapters.isEmpty ? .none : try LowRankDeltas(adapters: adapters, blockCount: c.blockCount, backend: backend)
        rope = RopeParameters(
            style: .interleaved, dimensions: c.ropeDimensions, base: c.ropeBase,
            frequencyScale: c.ropeFrequencyScale,
            frequencyFactors: try weights.ropeFrequencyFactors("rope_freqs.weight", count: c.ropeDimensions / 2))
    }

    public func makeWorkspace(batchCapacity n: Int, logitRows: Int) -> Workspace {
        .decoder(configuration, backend: backend, batchCapacity: n, logitRows: logitRows, extra: adapters.workspaceWidths)
    }

    public func kvCapacity(contextLength: Int, batchCapacity: Int) -> [Int] {
        Array(repeating: contextLength, count: configuration.blockCount)
    }

    public func forward(_ tokens: [Int32], spans: [SequenceSpan], workspace ws: Workspace) {
        let n = tokens.count, c = configuration, b = backend
        let x = ws("x", rows: n), normed = ws("normed", rows: n), projected = ws("projected", rows: n)
        let q = ws("q", rows: n), k = ws("k", rows: n), v = ws("v", rows: n), attention = ws("attention", rows: n)
        let gate = ws("gate", rows: n), up = ws("up", rows: n)
        let shape = AttentionShape(
            heads: c.headCount, kvHeads: c.headCountKV, headDim: c.headDim,
            scale: 1 / Float(c.headDim).squareRoot())

        b.embed(tokens, table: tokenEmbedding, scale: 1, into: x)
        for (layer, block) in blocks.enumerated() {
            b.rmsNorm(x, weight: block.attentionNorm, epsilon: c.rmsEpsilon, groups: 1, into: normed)
            b.matmul([block.query, block.key, block.value], normed, into: [q, k, v])
            adapters.add(block: layer, [.query, .key, .value], input: normed, into: [q, k, v], workspace: ws, on: b)
            var attentionSpans: [AttentionSpan] = []
            for span in spans {
                let (q, k, v, attention) =
                    spans.count == 1
                    ? (q, k, v, attention)
                    : (q.rows(span.rows), k.rows(span.rows), v.rows(span.rows), attention.rows(span.rows))
                b.rope(q, headDim: c.headDim, firstPosition: span.firstPosition, parameters: rope)
                b.rope(k, headDim: c.headDim, firstPosition: span.firstPosition, parameters: rope)
                b.storeKV(keys: k, values: v, cache: span.cache, layer: layer, firstPosition: span.firstPosition)
                attentionSpans.append(AttentionSpan(queries: q, cache: span.cache, firstPosition: span.firstPosition, output: attention))
            }
            b.attention(attentionSpans, layer: layer, shape: shape)
            b.matmul(block.attentionOutput, attention, into: projected)
            adapters.add(block: layer, [.attentionOutput], input: attention, into: [projected], workspace: ws, on: b)
            b.add(projected, into: x)

            b.rmsNorm(x, weight: block.feedForwardNorm, epsilon: c.rmsEpsilon, groups: 1, into: normed)
            b.matmul([block.gate, block.up], normed, into: [gate, up])
            adapters.add(block: layer, [.gate, .up], input: normed, into: [gate, up], workspace: ws, on: b)
            b.gatedActivation(.silu, gate: gate, up: up, into: gate)
            b.matmul(block.down, gate, into: projected)
            adapters.add(block: layer, [.down], input: gate, into: [projected], workspace: ws, on: b)
            b.add(projected, into: x)
        }
        b.rmsNorm(x, weight: outputNorm, epsilon: c.rmsEpsilon, groups: 1, into: ws("hidden", rows: n))
    }

    public func logits(rows: [Int], workspace ws: Workspace) {
        ws.projectLogits(rows: rows, through: output, on: backend)
    }
}
