import ArgumentParser
import Hardware
import ModelInspection
import Training

/// Refuses, before allocating anything, a training configuration this machine cannot hold.
enum TrainingMemoryCheck {
    /// Peak bytes of `train gpt`: f32 weights, gradients and AdamW's two moments (16 bytes per
    /// parameter), the activations every block keeps for backward, the logits and their gradient,
    /// and the process itself.
    static func estimate(hyperparameters h: LlamaHyperparameters, configuration: TrainingConfiguration) -> Int64 {
        let parameters = Int64(LlamaGPT.parameterCount(h))
        let tokens = Int64(configuration.batchSize * h.contextLength)
        let kv = Int64(h.kvHeads * h.headWidth)
        // Per token and layer: norms, q/k/v before and after RoPE, attention output, residuals,
        // gate/up/product, plus the attention weights (one row of T per head).
        let perTokenLayer = 12 * Int64(h.width) + 4 * kv + 3 * Int64(h.ffnWidth) + Int64(h.heads * h.contextLength)
        let layers = configuration.gradientCheckpointing ? 1 + Int64(h.layers) / 4 : Int64(h.layers)
        let activations = 4 * tokens * perTokenLayer * layers
        let logits = 3 * 4 * tokens * Int64(h.vocabularySize)
        let process: Int64 = 64 << 20
        return 16 * parameters + activations + logits + process
    }

    static func require(hyperparameters: LlamaHyperparameters, configuration: TrainingConfiguration, threads: Int) throws {
        let needed = estimate(hyperparameters: hyperparameters, configuration: configuration)
        guard let limit = MemoryLimits.current().tightest, needed > limit.remainingBytes else { return }
        throw ValidationError(
            "this configuration needs about \(Format.bytes(needed)) (\(Format.count(Int64(LlamaGPT.parameterCount(hyperparameters)))) parameters × 16 bytes "
                + "for weights, gradients and AdamW, plus activations for batch \(configuration.batchSize) × context \(hyperparameters.contextLength)); "
                + "\(limit.name) leaves \(Format.bytes(limit.remainingBytes)). Use a smaller --batch, --context or --dim, or --grad-checkpoint."
        )
    }
}
