/// Peak resident memory of `atelier finetune` (LoRA/QLoRA on the CPU over a GGUF base, f32
/// activations), the model `atelier fit --train lora|qlora` prints for this machine and the one
/// `finetune` checks before it starts.
///
/// Calibrated on measured peak RSS (`/usr/bin/time -v`, docs/FINETUNING.md "Memory"; session 17,
/// after the autograd graph stopped keeping values no backward rule reads): SmolLM2-135M at
/// 128/256/512 tokens and Gemma 3 270M at 128/256, with and without gradient checkpointing — every
/// point within 3 %. The terms:
/// - runtime: the process besides the weights it reads (binary, Swift runtime, OpenBLAS, tokenizer,
///   the inference kernels' buffers): 100 MiB;
/// - weights: the GGUF's tensors as stored (memory-mapped, read whole);
/// - adapters: 16 bytes per LoRA parameter (value, gradient, two AdamW moments, f32);
/// - activations: what backward needs, f32, with the host memory pool's reuse — per token and
///   block 4.85 bytes × (2·width + 2·query width + 3·feed-forward width) (the norms' inputs, the
///   projections' inputs, q/k/v, the gate and up products), plus the attention weights, heads ×
///   sequence² × 4 bytes per sequence and block. With checkpointing: each block's input (width × 4
///   bytes per token and block) and one block's activations, recomputed in backward;
/// - logits: 9 bytes per vocabulary entry per trained token (f32 logits, their gradient, and the
///   pool's share).
public struct FineTuningMemory: Codable, Sendable, Equatable {
    public var runtime: Int64
    public var weights: Int64
    public var adapters: Int64
    public var activations: Int64
    public var logits: Int64
    public var trainableParameters: Int64

    public var total: Int64 { runtime + weights + adapters + activations + logits }

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
        let blockWidths: Int64 = 2 * h + 2 * q + 3 * ff
        let perToken = Int64((4.85 * Double(blockWidths)).rounded())
        let attentionWeights = Int64(m.heads) * tokens * Int64(sequence) * 4
        let block = tokens * perToken + attentionWeights
        let layers = Int64(m.layers)
        let activations = checkpointing ? tokens * h * 4 * layers + block : block * layers
        return FineTuningMemory(
            runtime: runtimeBytes, weights: weightBytes, adapters: 16 * lora, activations: activations,
            logits: tokens * 9 * Int64(m.vocabularySize), trainableParameters: lora)
    }
}
