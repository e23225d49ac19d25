import Adapters
import Autograd
import ModelStore
import NeuralNetworks
import TensorOps
import Tensors

/// The recipe of a fine-tuning run (what `atelier finetune` takes as options).
public struct FineTuningRecipe: Codable, Sendable, Equatable {
    public var rank: Int
    public var alpha: Double
    public var targets: [String]
    public var steps: Int
    public var batchSize: Int
    public var context: Int
    public var learningRate: Double
    public var warmupSteps: Int
    public var weightDecay: Double = 0
    public var gradientClip: Double = 1
    /// Validation every this many steps (0: only at the end).
    public var evaluationInterval: Int
    /// At most this many validation examples per evaluation (the same ones each time).
    public var evaluationExamples: Int
    /// Stop after this many evaluations without a new best validation loss (0: never).
    public var patience: Int
    public var gradientCheckpointing: Bool
    public var seed: UInt64

    public init(
        rank: Int, alpha: Double, targets: [String], steps: Int, batchSize: Int, context: Int, learningRate: Double, warmupSteps: Int,
        evaluationInterval: Int, evaluationExamples: Int, patience: Int, gradientCheckpointing: Bool, seed: UInt64
    ) {
        self.rank = rank
        self.alpha = alpha
        self.targets = targets
        self.steps = steps
        self.batchSize = batchSize
        self.context = context
        self.learningRate = learningRate
        self.warmupSteps = warmupSteps
        self.evaluationInterval = evaluationInterval
        self.evaluationExamples = evaluationExamples
        self.patience = patience
        self.gradientCheckpointing = gradientCheckpointing
        self.seed = seed
    }
}

/// Where a fine-tuning run stands: enough for a resumed run to continue with the same data order.
public struct FineTuningProgress: Codable, Sendable, Equatable {
    public var step = 0
    public var position: DataPosition
    public var tokensSeen = 0
    public var trainedTokensSeen = 0
    public var elapsedSeconds = 0.0
    public var bestValidationLoss: Double?
    public var bestStep: Int?
    public var evaluationsWithoutImprovement = 0

    public init(position: DataPosition) { self.position = position }
}

/// What the loop reports as it goes (the CLI draws progress from it).
public protocol FineTuningObserver: AnyObject {
    func stepFinished(step: Int, of total: Int, loss: Double, learningRate: Double, tokensPerSecond: Double, elapsed: Double)
    func evaluated(step: Int, validationLoss: Double, isBest: Bool)
    func saved(path: String, what: String)
}

public enum FineTuningOutcome: Equatable, Sendable {
    case finished
    case earlyStopped(step: Int)
    case interrupted(step: Int)
}

/// The fine-tuning loop: batches in shuffled epochs, forward and backward through the frozen base,
/// global-norm clipping, AdamW on the LoRA matrices with warmup and cosine decay; the validation
/// loss every few steps, the best adapter kept (written each time it improves), early stopping,
/// and a resumable checkpoint (adapter, AdamW moments, data position) written atomically.
public final class FineTuner {
    public let model: any FineTuningModel
    public let recipe: FineTuningRecipe
    public let optimizer: AdamW
    public private(set) var batches: FineTuningBatches
    public let validation: [FineTuningExample]
    public private(set) var progress: FineTuningProgress
    /// The best adapter (or, without validation data, the last) goes here.
    public var adapterPath: String?
    public var checkpointPath: String?
    public var checkpointInterval = 0
    public var shouldStop: () -> Bool = { false }
    public var adapterName: String?

    public init(
        model: any FineTuningModel, recipe: FineTuningRecipe, train: FineTuningBatches, validation: [FineTuningExample],
        progress: FineTuningProgress? = nil
    ) {
        self.model = model
        self.recipe = recipe
        batches = train
        self.validation = Array(validation.prefix(recipe.evaluationExamples))
        optimizer = AdamW(parameters: model.parameters, learningRate: recipe.learningRate, weightDecay: recipe.weightDecay)
        self.progress = progress ?? FineTuningProgress(position: train.position)
        optimizer.stepCount = self.progress.step
    }

    public var schedule: WarmupCosineSchedule {
        WarmupCosineSchedule(
            peak: recipe.learningRate, floor: recipe.learningRate / 10, warmupSteps: recipe.warmupSteps, totalSteps: recipe.steps)
    }

    public func run(observer: FineTuningObserver?) throws -> FineTuningOutcome {
        let backend = model.backend
        let parameters = model.parameters
        let start = monotonicSeconds() - progress.elapsedSeconds
        var (windowStart, windowTokens) = (monotonicSeconds(), 0)
        while progress.step < recipe.steps {
            if shouldStop() {
                try saveCheckpoint(observer: observer)
                if validation.isEmpty { try saveAdapter(observer: observer, what: "adapter (last)") }
                return .interrupted(step: progress.step)
            }
            let batch = batches.next()
            let (inputs, targets) = batch.tensors(backend: backend)
            optimizer.learningRate = schedule.learningRate(at: progress.step)
            let loss = model.loss(inputs, targets: targets, checkpointing: recipe.gradientCheckpointing)
            let lossValue = backend.doubles(loss.value)[0]
            guard lossValue.isFinite else {
                throw FineTuningError("step \(progress.step + 1): the loss is \(lossValue); lower --lr (the last checkpoint is kept)")
            }
            loss.backward()
            let norm = clipGradients(parameters, maxNorm: recipe.gradientClip)
            guard norm.isFinite else {
                throw FineTuningError("step \(progress.step + 1): the gradient norm is \(norm); lower --lr (the last checkpoint is kept)")
            }
            optimizer.step()
            optimizer.zeroGradients()
            progress.step += 1
            progress.position = batches.position
            progress.tokensSeen += batch.rows * batch.time
            progress.trainedTokensSeen += batch.trainedTokenCount
            windowTokens += batch.rows * batch.time
            let now = monotonicSeconds()
            progress.elapsedSeconds = now - start
            observer?.stepFinished(
                step: progress.step, of: recipe.steps, loss: lossValue, learningRate: optimizer.learningRate,
                tokensPerSecond: Double(windowTokens) / max(now - windowStart, 1e-9), elapsed: progress.elapsedSeconds)
            if now - windowStart > 10 { (windowStart, windowTokens) = (now, 0) }
            let last = progress.step == recipe.steps
            var stopEarly = false
            if !validation.isEmpty && (last || recipe.evaluationInterval > 0 && progress.step % recipe.evaluationInterval == 0) {
                let validationLoss = validationLoss()
                let isBest = validationLoss < (progress.bestValidationLoss ?? .infinity)
                if isBest {
                    (progress.bestValidationLoss, progress.bestStep, progress.evaluationsWithoutImprovement) = (
                        validationLoss, progress.step, 0
                    )
                    try saveAdapter(observer: observer, what: "best adapter (step \(progress.step))")
                } else {
                    progress.evaluationsWithoutImprovement += 1
                    stopEarly = recipe.patience > 0 && progress.evaluationsWithoutImprovement >= recipe.patience
                }
                observer?.evaluated(step: progress.step, validationLoss: validationLoss, isBest: isBest)
            }
            if last || stopEarly || checkpointInterval > 0 && progress.step % checkpointInterval == 0 {
                try saveCheckpoint(observer: observer)
            }
            if stopEarly { return .earlyStopped(step: progress.step) }
        }
        if validation.isEmpty { try saveAdapter(observer: observer, what: "adapter") }
        return .finished
    }

    /// Mean loss per trained token over the validation examples (the same ones every time).
    public func validationLoss() -> Double {
        withoutGradients {
            var (total, count) = (0.0, 0)
            for first in stride(from: 0, to: validation.count, by: recipe.batchSize) {
                let indices = Array(first..<min(validation.count, first + recipe.batchSize))
                let batch = FineTuningBatches.batch(indices.map { validation[$0] }, indices: indices, epoch: 0, padding: 0)
                let trained = batch.trainedTokenCount
                guard trained > 0 else { continue }
                let (inputs, targets) = batch.tensors(backend: model.backend)
                total += model.backend.doubles(model.loss(inputs, targets: targets).value)[0] * Double(trained)
                count += trained
            }
            return total / Double(max(count, 1))
        }
    }

    /// The adapter as llama.cpp's LoRA GGUF (general.type adapter, `<tensor>.lora_a/.lora_b`).
    public func adapter() throws -> LoRAAdapter { try model.adapter(alpha: recipe.alpha, name: adapterName) }

    func saveAdapter(observer: FineTuningObserver?, what: String) throws {
        guard let adapterPath else { return }
        try adapter().write(to: adapterPath)
        observer?.saved(path: adapterPath, what: what)
    }

    public func saveCheckpoint(observer: FineTuningObserver?) throws {
        guard let checkpointPath else { return }
        try FineTuningCheckpoint.write(
            to: checkpointPath, recipe: recipe, progress: progress, parameters: model.parameters, optimizerState: optimizer.stateTensors)
        observer?.saved(path: checkpointPath, what: "checkpoint (step \(progress.step))")
    }

    /// Restores the LoRA matrices and AdamW moments of a checkpoint.
    public func restore(_ contents: FineTuningCheckpoint.Contents) throws {
        let named = model.parameters.map { ($0.name, $0.value) } + optimizer.stateTensors.map { ($0.name, $0.tensor) }
        for (name, tensor) in named {
            guard let saved = contents.tensors[name] else { throw FineTuningError("checkpoint: tensor \(name) is missing") }
            guard saved.shape == tensor.shape else {
                throw FineTuningError(
                    "checkpoint: tensor \(name) is \(saved.shape), the model needs \(tensor.shape) (another rank or model?)")
            }
            model.backend.copy(model.backend.tensor(saved.values, shape: saved.shape), into: tensor)
        }
    }
}

extension FineTuningModel {
    /// The current LoRA matrices as an adapter file's contents.
    public func adapter(alpha: Double, name: String? = nil) throws -> LoRAAdapter {
        var pairs: [String: LoRAPair] = [:]
        for (tensorName, layer) in adapted {
            guard let update = layer.update else { continue }
            pairs[tensorName] = try LoRAPair(
                rank: update.rank, inputs: layer.base.columns, outputs: layer.base.rows, a: backend.floats(update.a.value),
                b: backend.floats(update.b.value))
        }
        return LoRAAdapter(architecture: configuration.architecture, alpha: Float(alpha), pairs: pairs, name: name)
    }
}

/// The one monotonic clock (ModelStore's), as the training display uses it.
func monotonicSeconds() -> Double { TerminalProgress.monotonicClock() }
