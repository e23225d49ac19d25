import ArgumentParser
import Hardware
import ModelInspection
import Planner
import Training

/// Says, before anything is allocated, what `train gpt` will need at its peak (the planner's model of
/// this trainer, `FromScratchTrainingMemory`), and refuses a configuration the memory limits cannot hold.
enum TrainingMemoryCheck {
    static func plan(
        hyperparameters h: LlamaHyperparameters, configuration: TrainingConfiguration, threads: Int, corpusBytes: Int, corpusTokens: Int
    ) -> ScratchTrainingPlan {
        FromScratchTrainingMemory.estimate(
            ScratchTrainingConfiguration(
                vocabularySize: h.vocabularySize, width: h.width, layers: h.layers, heads: h.heads, kvHeads: h.kvHeads,
                ffnWidth: h.ffnWidth, contextLength: h.contextLength, batchSize: configuration.batchSize,
                gradientCheckpointing: configuration.gradientCheckpointing, tiedEmbeddings: h.tiedEmbeddings, threads: threads,
                corpusBytes: Int64(corpusBytes), corpusTokens: Int64(corpusTokens)))
    }

    /// Prints the planned peak; throws when what is still to be allocated exceeds the tightest limit
    /// (the text and its tokens are already in memory, and already outside what the limits leave).
    static func require(
        hyperparameters: LlamaHyperparameters, configuration: TrainingConfiguration, threads: Int, corpusBytes: Int, corpusTokens: Int
    ) throws {
        let plan = plan(
            hyperparameters: hyperparameters, configuration: configuration, threads: threads, corpusBytes: corpusBytes,
            corpusTokens: corpusTokens)
        Terminal.status("Planned peak memory: \(Format.bytes(plan.trainingPeak)) (\(plan.componentSummary))")
        let toAllocate = plan.trainingPeak - plan.trainingData - plan.process
        guard let limit = MemoryLimits.current().tightest, toAllocate > limit.remainingBytes else { return }
        throw ValidationError(
            "training \(Format.grouped(plan.parameters)) parameters at batch \(configuration.batchSize) × context \(hyperparameters.contextLength) "
                + "needs \(Format.bytes(plan.trainingPeak)) at its peak, \(Format.bytes(toAllocate)) of it still to allocate "
                + "(\(plan.componentSummary)); \(limit.name) leaves \(Format.bytes(max(0, limit.remainingBytes))). "
                + "Use a smaller --dim, --layers, --batch or --context"
                + (configuration.gradientCheckpointing ? "." : ", or --grad-checkpoint."))
    }
}
