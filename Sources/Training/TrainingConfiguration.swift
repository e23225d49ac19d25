/// Everything about a training run except the model's shape: batch, length, optimizer, schedule,
/// regularisation, evaluation and checkpointing. Saved in checkpoints, so `--resume` continues
/// with the same recipe (and refuses a different one).
public struct TrainingConfiguration: Sendable, Equatable, Codable {
    public var batchSize = 12
    /// Total optimizer steps (the schedule's length).
    public var steps = 2000
    public var learningRate = 1e-3
    public var minimumLearningRate = 1e-4
    public var warmupSteps = 100
    public var weightDecay = 0.1
    public var beta1 = 0.9
    public var beta2 = 0.99
    public var epsilon = 1e-8
    public var gradientClip = 1.0
    public var dropout = 0.0
    /// Evaluate the validation loss every this many steps (0: only at the end).
    public var evaluationInterval = 250
    /// Batches of validation windows per periodic evaluation (the same windows every time).
    public var evaluationBatches = 20
    /// Write a checkpoint every this many steps (0: only at the end and on interruption).
    public var checkpointInterval = 500
    public var gradientCheckpointing = false
    public var seed: UInt64 = 1337

    public init() {}

    public func validate(context: Int) throws {
        func require(_ condition: Bool, _ message: String) throws {
            if !condition { throw TrainingError.invalidOption(message) }
        }
        try require(batchSize >= 1 && batchSize <= 65_536, "--batch \(batchSize): expected 1…65536")
        try require(steps >= 1, "--steps \(steps): expected at least 1")
        try require(learningRate.isFinite && learningRate > 0, "--lr \(learningRate): expected a positive number")
        try require(minimumLearningRate.isFinite && minimumLearningRate >= 0, "--min-lr \(minimumLearningRate): expected ≥ 0")
        try require(warmupSteps >= 0, "--warmup \(warmupSteps): expected ≥ 0")
        try require(weightDecay.isFinite && weightDecay >= 0, "--weight-decay \(weightDecay): expected ≥ 0")
        try require(dropout.isFinite && dropout >= 0 && dropout < 1, "--dropout \(dropout): expected 0 ≤ p < 1")
        try require(gradientClip.isFinite && gradientClip > 0, "--clip \(gradientClip): expected a positive number")
        try require(evaluationInterval >= 0 && evaluationBatches >= 1, "--eval-every/--eval-batches must be ≥ 0 / ≥ 1")
        try require(context >= 2, "--context \(context): expected at least 2")
    }
}
