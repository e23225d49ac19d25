/// Peak resident memory of `atelier finetune` (LoRA/QLoRA on the CPU over a GGUF base, f32
/// activations), the model `atelier fit --train lora|qlora` prints for this machine and the one
/// `finetune` checks before it starts.
///
/// Calibrated on measured peak RSS (`/usr/bin/time -v`, docs/FINETUNING.md "Memory"; session 18,
/// after the head and its loss became one op): SmolLM2-135M at 128/256/512 tokens and Gemma 3
/// 270M at 128/256, with and without gradient checkpointing. The terms:
/// - runtime: the process besides the weights it reads (binary, Swift runtime, OpenBLAS, tokenizer,
///   the inference kernels' buffers): 100 MiB;
/// - weights: the GGUF's tensors as stored (memory-mapped, read whole);
/// - adapters: 16 bytes per LoRA parameter (value, gradient, two AdamW moments, f32);
/// - activations: what backward needs, f32, with the host memory pool's reuse — per token and
///   block 4.85 bytes × (2·width + 2·query width + 3·feed-forward width) (the norms' inputs, the
///   projections' inputs, q/k/v, the gate and up products; Gemma 3 adds its q/k norms' inputs, a
///   query and a key/value width, and its two post-norms' inputs, two widths), plus the attention weights, heads ×
///   sequence² × 4 bytes per sequence and block. With checkpointing: each block's input (width × 4
///   bytes per token and block) and one block's activations, recomputed in backward;
/// - head: the output projection's loss runs as one fused pass that never stores the [tokens,
///   vocabulary] logits (`frozenLinearCrossEntropy`: tile-sized buffers per worker), so what is left
///   scales with the vocabulary once — its tables (tokenizer, scores): 100 bytes an entry — and
///   with the tokens: 64 KiB each (the fused pass's per-worker buffers, the batch's tensors and
///   the pool's rounding), both fitted to the session-18 measurements.
public struct FineTuningMemory: Codable, Sendable, Equatable {
    public var runtime: Int64
    public var weights: Int64
    public var adapters: Int64
    public var activations: Int64
    public var head: Int64
    public var trainableParameters: Int64

    public var total: Int64 { runtime + weights + adapters + activations + head }

    public static let runtimeBytes: Int64 = 100 << 20

    public static func estimate(
        shape m: ModelShape, weightBytes: Int64, rank: Int, targets: Set<String>, batch: Int, sequence: Int, checkpointing: Bool
    ) -> FineTuningMemory {
        let h = Int64(m.embeddingLength), q = Int64(m.queryWidth), kv = Int64(m.kvWidth), ff = Int64(m.feedForwardLength)
        let shapes: [String: (Int64, Int64)] = [
            "q": (h, q), "k": (h, kv), "v": (h, kv), "o": (q, h), "gate": (h, ff), "up": (h, ff), "down": (ff, h),
        ]
        let perLayer = targets.compactMap { shapes[$0] }.reduce(Int64(0)) { $0 + Int64(rank) * ($1.0 + $1.1) }
        let lora = perLayer * Int64(m.layers)
        let tokens = Int64(batch) * Int64(sequence)
        // Gemma 3 also normalises q and k (the norms read their inputs: one more q and kv) and the
        // attention and feed-forward outputs before the residual sums (two more widths).
        let qkNormWidths = m.qkNorm ? q + kv : 0
        let sandwichNormWidths = m.family == "gemma3" ? 2 * h : 0
        let blockWidths: Int64 = 2 * h + 2 * q + 3 * ff + qkNormWidths + sandwichNormWidths
        let perToken = Int64((4.85 * Double(blockWidths)).rounded())
        let attentionWeights = Int64(m.heads) * tokens * Int64(sequence) * 4
        let block = tokens * perToken + attentionWeights
        let layers = Int64(m.layers)
        let activations = checkpointing ? tokens * h * 4 * layers + block : block * layers
        return FineTuningMemory(
            runtime: runtimeBytes, weights: weightBytes, adapters: 16 * lora, activations: activations,
            head: 100 * Int64(m.vocabularySize) + tokens * (64 << 10), trainableParameters: lora)
    }
}
