import Adapters
import Compute
import GGUF

/// Gemma 3 (Gemma Team 2025): Llama's decoder skeleton with
/// - the token embedding scaled by √d,
/// - RMSNorm on each query and key head (QK-norm) before RoPE,
/// - four norms per block: before and after attention, before and after the feed-forward network,
/// - a GELU-tanh gated feed-forward network (GeGLU),
/// - five sliding-window (local) layers for every global one, with separate RoPE bases
///   (local 10,000; global `gemma3.rope.freq_base`, with linear scaling on global layers only).
///
///     x = √d · embed(tokens)
///     for each block:
///         a = Wo · attention(RoPE(norm_q(Wq · norm(x))), RoPE(norm_k(Wk · norm(x))), Wv · norm(x))
///         x = x + norm(a)
///         f = Wdown · (GELU(Wgate · norm(x)) ⊙ Wup · norm(x))
///         x = x + norm(f)
///     logits = E · norm(x)
///
/// GGUF norm weights already include Gemma's "+1", so they are used as stored.
public final class Gemma3: LanguageModel, @unchecked Sendable {
    // @unchecked: immutable after init; weights point into the memory-mapped file it retains.
    public let configuration: ModelConfiguration
    public let backend: any ComputeBackend
    let file: GGUFFile
    let tokenEmbedding: Weight
    let outputNorm: Weight
    let blocks: [Block]
    /// LoRA adapters applied on top of the projections (none: nothing is added).
    let adapters: LowRankDeltas
    let localRope: RopeParameters
    let globalRope: RopeParameters
    /// Every `slidingWindowPattern`-th layer (the last of each group) attends globally.
    let slidingWindowPattern = 6

    struct Block {
        let attentionNorm, query, queryNorm, key, keyNorm, value, attentionOutput, postAttentionNorm: Weight
        let feedForwardNorm, gate, up, down, postFeedForwardNorm: Weight
    }

    public static let architectures: Set<String> = ["gemma3"]
    /// llama.cpp hard-codes the local layers' base (`rope_freq_base_train_swa`).
    static let localRopeBase: Float = 10_000

    public init(
        file: GGUFFile, configuration c: ModelConfiguration, backend: any ComputeBackend,
        adapters: [(adapter: LoRAAdapter, scale: Float)] = []
    ) throws {
        guard c.slidingWindow != nil else {
            throw ModelError("\(file.source): gemma3.attention.sliding_window is missing")
        }
        self.file = file
        self.configuration = c
        self.backend = backend
        let weights = WeightLoader(file: file, backend: backend)
        let d = c.embeddingLength
        tokenEmbedding = try weights.load("token_embd.weight", shape: [d, c.vocabularySize])
        outputNorm = try weights.loadNorm("output_norm.weight", length: d)
        if file.tensor(named: "output.weight") != nil {
            throw ModelError("\(file.source): gemma3 ties its output to token_embd; a separate output.weight is not supported")
        }
        blocks = try (0..<c.blockCount).map { i in
            func load(_ name: String, _ shape: [Int]) throws -> Weight { try weights.load("blk.\(i).\(name).weight", shape: shape) }
            func norm(_ name: String, _ length: Int) throws -> Weight { try weights.loadNorm("blk.\(i).\(name).weight", length: length) }
            return Block(
                attentionNorm: try norm("attn_norm", d),
                query: try load("attn_q", [d, c.queryWidth]),
                queryNorm: try norm("attn_q_norm", c.headDim),
                key: try load("attn_k", [d, c.kvWidth]),
                keyNorm: try norm("attn_k_norm", c.headDim),
                value: try load("attn_v", [d, c.kvWidth]),
                attentionOutput: try load("attn_output", [c.queryWidth, d]),
                postAttentionNorm: try norm("post_attention_norm", d),
                feedForwardNorm: try norm("ffn_norm", d),
                gate: try load("ffn_gate", [d, c.feedForwardLength]),
                up: try load("ffn_up", [d, c.feedForwardLength]),
                down: try load("ffn_down", [c.feedForwardLength, d]),
                postFeedForwardNorm: try norm("post_ffw_norm", d))
        }
        self.adapters =
            adapters.isEmpty ? .none : try LowRankDeltas(adapters: adapters, blockCount: c.blockCount, backend: backend)
        localRope = RopeParameters(style: .neox, dimensions: c.ropeDimensions, base: Self.localRopeBase)
        globalRope = RopeParameters(style: .neox, dimensions: c.ropeDimensions, base: c.ropeBase, frequencyScale: c.ropeFrequencyScale)
    }

    func isGlobal(_ layer: Int) -> Bool { layer % slidingWindowPattern == slidingWindowPattern - 1 }

    public func makeWorkspace(batchCapacity n: Int, logitRows: Int) -> Workspace {
        .decoder(configuration, backend: backend, batchCapacity: n, logitRows: logitRows, extra: adapters.workspaceWidths)
    }

    /// Local layers keep only the window plus one batch of cells (a ring): their KV memory is
    /// flat however long the context grows; global layers keep the whole context.
    public func kvCapacity(contextLength: Int, batchCapacity: Int) -> [Int] {
        // Saturating: a window or batch near Int.max (hostile or mistyped) means "the whole context".
        let window = min(configuration.slidingWindow ?? contextLength, contextLength)
        let (ring, overflow) = window.addingReportingOverflow(max(0, batchCapacity))
        return (0..<configuration.blockCount).map { layer in
            isGlobal(layer) || overflow ? contextLength : min(contextLength, ring)
        }
    }

    public func forward(_ tokens: [Int32], spans: [SequenceSpan], workspace ws: Workspace) {
        let n = tokens.count, c = configuration, b = backend
        let x = ws("x", rows: n), normed = ws("normed", rows: n), projected = ws("projected", rows: n)
        let q = ws("q", rows: n), k = ws("k", rows: n), v = ws("v", rows: n), attention = ws("attention", rows: n)
        let gate = ws("gate", rows: n), up = ws("up", rows: n)
        let scale = 1 / Float(c.headDim).squareRoot()

        b.embed(tokens, table: tokenEmbedding, scale: Float(c.embeddingLength).squareRoot(), into: x)
        for (layer, block) in blocks.enumerated() {
            let global = isGlobal(layer)
            let shape = AttentionShape(
                heads: c.headCount, kvHeads: c.headCountKV, headDim: c.headDim, scale: scale,
                window: global ? nil : c.slidingWindow)
            b.rmsNorm(x, weight: block.attentionNorm, epsilon: c.rmsEpsilon, groups: 1, into: normed)
            b.matmul([block.query, block.key, block.value], normed, into: [q, k, v])
            adapters.add(block: layer, [.query, .key, .value], input: normed, into: [q, k, v], workspace: ws, on: b)
            b.rmsNorm(q, weight: block.queryNorm, epsilon: c.rmsEpsilon, groups: c.headCount, into: q)
            b.rmsNorm(k, weight: block.keyNorm, epsilon: c.rmsEpsilon, groups: c.headCountKV, into: k)
            var attentionSpans: [AttentionSpan] = []
            for span in spans {
                let (q, k, v, attention) =
                    spans.count == 1
                    ? (q, k, v, attention)
                    : (q.rows(span.rows), k.rows(span.rows), v.rows(span.rows), attention.rows(span.rows))
                b.rope(q, headDim: c.headDim, firstPosition: span.firstPosition, parameters: global ? globalRope : localRope)
                b.rope(k, headDim: c.headDim, firstPosition: span.firstPosition, parameters: global ? globalRope : localRope)
                b.storeKV(keys: k, values: v, cache: span.cache, layer: layer, firstPosition: span.firstPosition)
                attentionSpans.append(AttentionSpan(queries: q, cache: span.cache, firstPosition: span.firstPosition, output: attention))
            }
            b.attention(attentionSpans, layer: layer, shape: shape)
            b.matmul(block.attentionOutput, attention, into: projected)
            adapters.add(block: layer, [.attentionOutput], input: attention, into: [projected], workspace: ws, on: b)
            b.rmsNorm(projected, weight: block.postAttentionNorm, epsilon: c.rmsEpsilon, groups: 1, into: projected)
            b.add(projected, into: x)

            b.rmsNorm(x, weight: block.feedForwardNorm, epsilon: c.rmsEpsilon, groups: 1, into: normed)
            b.matmul([block.gate, block.up], normed, into: [gate, up])
            adapters.add(block: layer, [.gate, .up], input: normed, into: [gate, up], workspace: ws, on: b)
            b.gatedActivation(.geluTanh, gate: gate, up: up, into: gate)
            b.matmul(block.down, gate, into: projected)
            adapters.add(block: layer, [.down], input: gate, into: [projected], workspace: ws, on: b)
            b.rmsNorm(projected, weight: block.postFeedForwardNorm, epsilon: c.rmsEpsilon, groups: 1, into: projected)
            b.add(projected, into: x)
        }
        b.rmsNorm(x, weight: outputNorm, epsilon: c.rmsEpsilon, groups: 1, into: ws("hidden", rows: n))
    }

    public func logits(rows: [Int], workspace ws: Workspace) {
        ws.projectLogits(rows: rows, through: tokenEmbedding, on: backend)
    }
}
