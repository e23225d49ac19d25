import Autograd
import NeuralNetworks
import TensorOps
import Tensors

#if canImport(Glibc)
import Glibc
#endif

/// What a training loop reports as it goes (the CLI draws its progress line and writes the metrics log).
public protocol TrainingObserver: AnyObject {
    func stepFinished(_ record: StepRecord)
    func evaluated(step: Int, validationLoss: Double)
    func checkpointSaved(path: String, step: Int)
    func checkpointFailed(path: String, error: Error)
}

public struct StepRecord: Sendable {
    public var step: Int
    public var totalSteps: Int
    public var loss: Double
    public var learningRate: Double
    public var gradientNorm: Double
    public var tokensPerSecond: Double
    public var elapsedSeconds: Double
}

/// Why a run ended.
public enum TrainingOutcome: Sendable, Equatable {
    case finished
    case interrupted(step: Int)
    case timeLimit(step: Int)
}

/// The training loop: sample a batch, forward, backward, clip, AdamW step with the warmup-cosine
/// learning rate; evaluate the validation loss every few steps on the same windows; checkpoint.
public final class Trainer {
    public let model: LlamaGPT
    public let configuration: TrainingConfiguration
    public let optimizer: AdamW
    public let train: TokenBatches
    public let validation: TokenBatches
    public private(set) var progress: TrainingProgress
    public var checkpointPath: String?
    public var tokenizerDescription = "bytes"
    /// Checked between steps: Ctrl-C sets it, and the loop saves a checkpoint and returns.
    public var shouldStop: () -> Bool = { false }
    /// Stop after this many seconds of training (the schedule still runs to `configuration.steps`).
    public var timeLimit: Double?

    public init(
        model: LlamaGPT, configuration: TrainingConfiguration, train: TokenBatches, validation: TokenBatches,
        progress: TrainingProgress? = nil
    ) {
        self.model = model
        self.configuration = configuration
        self.train = train
        self.validation = validation
        optimizer = AdamW(
            parameters: model.parameters, learningRate: configuration.learningRate, beta1: configuration.beta1, beta2: configuration.beta2,
            epsilon: configuration.epsilon, weightDecay: configuration.weightDecay)
        self.progress = progress ?? TrainingProgress(seed: configuration.seed)
        optimizer.stepCount = self.progress.step
    }

    public var schedule: WarmupCosineSchedule {
        WarmupCosineSchedule(
            peak: configuration.learningRate, floor: configuration.minimumLearningRate, warmupSteps: configuration.warmupSteps,
            totalSteps: configuration.steps)
    }

    /// Restores the optimizer's moments from a checkpoint's tensors.
    public func restoreOptimizerState(_ tensors: [String: (shape: [Int], values: [Float])]) throws {
        for (name, tensor) in optimizer.stateTensors {
            guard let saved = tensors[name] else { throw TrainingError.missingParameter(name) }
            guard saved.shape == tensor.shape else { throw TrainingError.parameterShape(name, expected: tensor.shape, found: saved.shape) }
            let host = model.backend.tensor(saved.values, shape: saved.shape)
            model.backend.copy(host, into: tensor)
        }
    }

    /// Runs until `configuration.steps`, the time limit, or `shouldStop`.
    public func run(observer: TrainingObserver?) throws -> TrainingOutcome {
        let backend = model.backend
        let parameters = model.parameters
        let tokensPerStep = configuration.batchSize * train.context
        var windowStart = monotonicSeconds(), windowTokens = 0
        let runStart = monotonicSeconds() - progress.elapsedSeconds
        while progress.step < configuration.steps {
            if shouldStop() {
                try saveCheckpoint(observer: observer, required: true)
                return .interrupted(step: progress.step)
            }
            if let timeLimit, monotonicSeconds() - runStart >= timeLimit {
                try saveCheckpoint(observer: observer, required: true)
                return .timeLimit(step: progress.step)
            }
            let step = progress.step
            optimizer.learningRate = schedule.learningRate(at: step)
            let (inputs, targets) = train.randomBatch(&progress.dataRandom, backend: backend)
            let dropout = configuration.dropout > 0 ? ForwardDropout(probability: configuration.dropout, seed: stepSeed(step)) : nil
            let loss = model.loss(inputs, targets: targets, dropout: dropout, checkpointing: configuration.gradientCheckpointing)
            let lossValue = backend.doubles(loss.value)[0]
            guard lossValue.isFinite else {
                throw TrainingError.nonFiniteLoss(step: step + 1, loss: lossValue, checkpoint: lastCheckpoint)
            }
            loss.backward()
            let norm = clipGradients(parameters, maxNorm: configuration.gradientClip)
            guard norm.isFinite else {
                optimizer.zeroGradients()
                throw TrainingError.nonFiniteLoss(step: step + 1, loss: norm, checkpoint: lastCheckpoint)
            }
            optimizer.step()
            optimizer.zeroGradients()
            progress.step = step + 1
            progress.tokensSeen += tokensPerStep
            windowTokens += tokensPerStep
            let now = monotonicSeconds()
            progress.elapsedSeconds = now - runStart
            observer?.stepFinished(
                StepRecord(
                    step: progress.step, totalSteps: configuration.steps, loss: lossValue, learningRate: optimizer.learningRate,
                    gradientNorm: norm,
                    tokensPerSecond: Double(windowTokens) / max(now - windowStart, 1e-9), elapsedSeconds: progress.elapsedSeconds))
            if now - windowStart > 5 {
                (windowStart, windowTokens) = (now, 0)
            }
            let last = progress.step == configuration.steps
            if configuration.evaluationInterval > 0 && progress.step % configuration.evaluationInterval == 0 || last {
                let validationLoss = estimateValidationLoss()
                progress.lastValidationLoss = validationLoss
                progress.bestValidationLoss = min(progress.bestValidationLoss ?? .infinity, validationLoss)
                observer?.evaluated(step: progress.step, validationLoss: validationLoss)
            }
            if last || configuration.checkpointInterval > 0 && progress.step % configuration.checkpointInterval == 0 {
                try saveCheckpoint(observer: observer, required: false)
            }
        }
        return .finished
    }

    private var lastCheckpoint: String?

    /// Writes the checkpoint; a failure is reported and the previous file stays (`required`: also rethrown).
    public func saveCheckpoint(observer: TrainingObserver?, required: Bool) throws {
        guard let path = checkpointPath else { return }
        do {
            try Checkpoint.write(
                to: path, hyperparameters: model.hyperparameters, configuration: configuration, progress: progress,
                tokenizer: tokenizerDescription, parameters: model.parameters, optimizerState: optimizer.stateTensors)
            lastCheckpoint = path
            observer?.checkpointSaved(path: path, step: progress.step)
        } catch {
            observer?.checkpointFailed(path: path, error: error)
            if required { throw error }
        }
    }

    /// The dropout seed of a step: a function of the run's seed and the step alone (resumable).
    func stepSeed(_ step: Int) -> UInt64 {
        var random = SeededRandom(seed: configuration.seed ^ (UInt64(step) &* 0xD1B5_4A32_D192_ED03))
        return random.next()
    }

    /// Mean loss over the same `evaluationBatches` batches of validation windows each time (their
    /// offsets spread evenly over the split), so successive evaluations are comparable.
    public func estimateValidationLoss() -> Double {
        let windows = validation.tilingOffsets
        let wanted = min(windows.count, configuration.evaluationBatches * configuration.batchSize)
        let picked = (0..<wanted).map { windows[$0 * windows.count / wanted] }
        return meanLoss(validation, offsets: picked)
    }

    func meanLoss(_ batches: TokenBatches, offsets: [Int]) -> Double {
        withoutGradients {
            var total = 0.0
            var start = 0
            while start < offsets.count {
                let chunk = Array(offsets[start..<min(offsets.count, start + configuration.batchSize)])
                let (inputs, targets) = batches.batch(at: chunk, backend: model.backend)
                total += model.backend.doubles(model.loss(inputs, targets: targets).value)[0] * Double(chunk.count)
                start += chunk.count
            }
            return total / Double(max(offsets.count, 1))
        }
    }
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
}
