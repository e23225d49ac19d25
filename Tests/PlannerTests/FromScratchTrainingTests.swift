import Testing

@testable import Planner

/// The from-scratch trainer's memory model (`atelier train gpt`): parameter counts worked out by hand
/// from docs/TRAINING.md's tensor list, and the activation arithmetic of one configuration.
@Suite struct FromScratchTrainingPlans {
    /// nanoGPT's CPU shape on bytes: V 256, D 128, L 4, H 4, F 352 (8·128/3 = 341.3 → 352), tied.
    /// token_embd 256·128 = 32,768; per block q, k, v, o 4·128·128 = 65,536, gate/up/down
    /// 3·128·352 = 135,168, two norms 256: 200,960; × 4 = 803,840; output_norm 128.
    /// 32,768 + 803,840 + 128 = 836,736 (train gpt prints "836.74 K parameters").
    static let nanoGPT = ScratchTrainingConfiguration(
        vocabularySize: 256, width: 128, layers: 4, heads: 4, contextLength: 64, batchSize: 12, threads: 2)

    @Test func parameterCountOfTheNanoGPTShape() {
        #expect(Self.nanoGPT.ffnWidth == 352)
        #expect(FromScratchTrainingMemory.parameterCount(Self.nanoGPT) == 836_736)
        #expect(FromScratchTrainingMemory.estimate(Self.nanoGPT).parameters == 836_736)
    }

    @Test func parameterCountWithGroupedQueriesAndAnUntiedHead() {
        // V 1024, D 256, L 2, H 8, Hkv 2 (head width 32: k and v are 64 wide), F 688 (8·256/3 = 682.7 → 688).
        // Per block: q, o 2·256·256 = 131,072; k, v 2·256·64 = 32,768; 3·256·688 = 528,384; norms 512:
        // 692,736, × 2 = 1,385,472. token_embd and output 2·1024·256 = 524,288; output_norm 256.
        let c = ScratchTrainingConfiguration(
            vocabularySize: 1024, width: 256, layers: 2, heads: 8, kvHeads: 2, contextLength: 128, batchSize: 4, tiedEmbeddings: false)
        #expect(c.ffnWidth == 688)
        #expect(FromScratchTrainingMemory.parameterCount(c) == 1_910_016)
    }

    @Test func defaultFeedForwardWidthIsTheTrainers() {
        // docs/TRAINING.md: 352 for D = 128, 1024 for D = 384.
        #expect(ScratchTrainingConfiguration.defaultFFNWidth(width: 128) == 352)
        #expect(ScratchTrainingConfiguration.defaultFFNWidth(width: 384) == 1024)
    }

    @Test func statesAndActivationsOfTheNanoGPTShape() {
        let plan = FromScratchTrainingMemory.estimate(Self.nanoGPT)
        #expect(plan.weights == 4 * 836_736)
        #expect(plan.optimizerMoments == 8 * 836_736)
        // Tied table: its gradient plus the two partial gradients (2 · 4 · 256 · 128 = 262,144).
        #expect(plan.gradients == 4 * 836_736 + 262_144)
        // N = 12 · 64 = 768 tokens. A block keeps what its backward rules read,
        // 4·(768·(4·128 + 2·128 + 2·128 + 3·352 + 2) + 12·4·64·64) = 4·(1,598,976 + 196,608) = 7,182,336
        // bytes; embedding and final norm 4·(2·768·128 + 768) = 789,504.
        #expect(plan.activations == 789_504 + 4 * 7_182_336)
        // Logits and their gradient 2·4·768·256 = 1,572,864, and log-sum-exp 4·768.
        #expect(plan.logits == 1_572_864 + 3_072)
    }

    @Test func gradientCheckpointingKeepsOneBlock() {
        var c = Self.nanoGPT
        c.gradientCheckpointing = true
        let plan = FromScratchTrainingMemory.estimate(c)
        // Four block inputs 4·4·768·128 = 1,572,864, one block 7,182,336, the ends 789,504.
        #expect(plan.activations == 789_504 + 1_572_864 + 7_182_336)
    }

    @Test func aBytePairVocabularyPlansItsOwnTrainingPhase() {
        var c = Self.nanoGPT
        #expect(FromScratchTrainingMemory.estimate(c).tokenizerTrainingPeak == 0)
        c.vocabularySize = 1024
        let plan = FromScratchTrainingMemory.estimate(c)
        #expect(plan.tokenizerTrainingPeak > 0)
        // Tokens estimated at 0.425 per byte: 4 bytes each, plus two copies of the text.
        #expect(plan.trainingData == Int64((2 * 5_057_239 + 4 * 5_057_239 * 0.425).rounded(.up)))
    }

    @Test func absurdShapesSaturateInsteadOfOverflowing() {
        let c = ScratchTrainingConfiguration(
            vocabularySize: 1 << 30, width: 1 << 30, layers: 1 << 30, heads: 1 << 10, contextLength: 1 << 30, batchSize: 1 << 16)
        let plan = FromScratchTrainingMemory.estimate(c)
        #expect(plan.peak == Int64.max || plan.peak > 1 << 62)
    }
}
