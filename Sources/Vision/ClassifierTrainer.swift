import Autograd
import ImageData
import NeuralNetworks
import TensorOps
import Tensors

#if canImport(Glibc)
import Glibc
#endif

/// What the training loop reports as it goes (the CLI prints progress lines from these).
public protocol ClassifierTrainingObserver: AnyObject {
    func stepFinished(epoch: Int, batch: Int, batches: Int, loss: Double, imagesPerSecond: Double)
    func epochFinished(_ record: EpochRecord, epochs: Int, isBest: Bool)
}

/// Trains an image classifier: shuffled (and augmented) batches from a loader thread, forward,
/// cross-entropy with label smoothing, backward, SGD with Nesterov momentum and weight decay on the
/// one-cycle learning rate; after each epoch the test set's loss and accuracy, the best model kept,
/// a checkpoint written. A stop request (Ctrl-C) checkpoints mid-epoch; a resumed run continues
/// with the same batches.
public final class ClassifierTrainer {
    public enum Outcome: Sendable, Equatable {
        case finished
        case interrupted
        /// `maximumSteps` reached; the rate over the steps after the first three.
        case stepLimit(imagesPerSecond: Double)
    }

    public let model: any ImageClassifier
    public let recipe: ClassifierRecipe
    public let description: ClassifierFile.Description
    public let optimizer: SGD
    public private(set) var progress: ClassifierProgress
    public let schedule: OneCycleSchedule
    let train: ImageSet, test: ImageSet
    let loader: ImageBatchLoader
    public var shouldStop: () -> Bool = { false }
    /// Written after every epoch and on a stop request.
    public var checkpointPath: String?
    /// Written whenever the test accuracy improves.
    public var bestModelPath: String?
    static let warmupSteps = 3

    public init(
        model: any ImageClassifier, recipe: ClassifierRecipe, description: ClassifierFile.Description, train: ImageSet, test: ImageSet,
        progress: ClassifierProgress = ClassifierProgress()
    ) {
        self.model = model
        self.recipe = recipe
        self.description = description
        self.train = train
        self.test = test
        self.progress = progress
        optimizer = SGD(
            parameters: model.parameters, learningRate: recipe.learningRate, momentum: recipe.momentum, weightDecay: recipe.weightDecay,
            nesterov: recipe.momentum > 0)
        loader = ImageBatchLoader(
            set: train, batchSize: recipe.batchSize, normalization: description.normalization, augmentation: recipe.augmentation,
            shuffle: true, seed: recipe.seed)
        let total = recipe.epochs * loader.batchesPerEpoch
        schedule = OneCycleSchedule(peak: recipe.learningRate, totalSteps: min(total, recipe.maximumSteps ?? total))
        optimizer.stepCount = progress.step
    }

    public var batchesPerEpoch: Int { loader.batchesPerEpoch }

    /// The optimizer's velocities by name (for checkpoints).
    public var optimizerState: [(name: String, tensor: Tensor)] { optimizer.stateTensors }

    public func run(observer: (any ClassifierTrainingObserver)?) throws -> Outcome {
        let backend = model.parameters[0].backend
        let input = description.input
        var benchmarkStart: Double?
        while progress.epoch < recipe.epochs {
            let epoch = progress.epoch
            let epochStart = monotonicSeconds()
            loader.start(epoch: epoch, skipBatches: progress.batchInEpoch)
            var lossTotal = 0.0, lossCount = 0, images = 0
            while let batch = loader.next() {
                let step = progress.step
                optimizer.learningRate = schedule.learningRate(at: step)
                optimizer.zeroGradients()
                let x = Variable(
                    backend.tensor(batch.images, shape: [batch.count, input.channels, input.height, input.width]), backend: backend)
                let labels = backend.tensor(batch.labels, shape: [batch.count])
                let logits = model.logits(x, training: true, seed: recipe.seed &+ UInt64(step) &* 0x9E37_79B9)
                let loss = logits.crossEntropy(targets: labels, labelSmoothing: recipe.labelSmoothing)
                let value = backend.doubles(loss.value)[0]
                guard value.isFinite else {
                    throw VisionError.invalid("the loss became \(value) at step \(step) (epoch \(epoch + 1)); try a lower --lr")
                }
                loss.backward()
                optimizer.step()
                progress.step += 1
                progress.batchInEpoch += 1
                progress.stepLosses.append(value)
                lossTotal += value
                lossCount += 1
                images += batch.count
                let elapsed = monotonicSeconds() - epochStart
                observer?.stepFinished(
                    epoch: epoch, batch: progress.batchInEpoch, batches: loader.batchesPerEpoch, loss: value,
                    imagesPerSecond: elapsed > 0 ? Double(images) / elapsed : 0)
                if progress.step == Self.warmupSteps { benchmarkStart = monotonicSeconds() }
                if let maximum = recipe.maximumSteps, progress.step >= maximum {
                    let timed = Double((progress.step - min(Self.warmupSteps, progress.step)) * recipe.batchSize)
                    let seconds = benchmarkStart.map { monotonicSeconds() - $0 } ?? elapsed
                    progress.elapsedSeconds += elapsed
                    return .stepLimit(imagesPerSecond: seconds > 0 && timed > 0 ? timed / seconds : Double(images) / max(elapsed, 1e-9))
                }
                if shouldStop() {
                    progress.elapsedSeconds += elapsed
                    try saveCheckpoint()
                    return .interrupted
                }
            }
            let trainSeconds = monotonicSeconds() - epochStart
            let (testLoss, confusion) = evaluate(test)
            let record = EpochRecord(
                epoch: epoch + 1, trainLoss: lossCount > 0 ? lossTotal / Double(lossCount) : .nan, testLoss: testLoss,
                testAccuracy: confusion.accuracy, imagesPerSecond: trainSeconds > 0 ? Double(images) / trainSeconds : 0,
                seconds: monotonicSeconds() - epochStart)
            progress.elapsedSeconds += record.seconds
            progress.epoch += 1
            progress.batchInEpoch = 0
            progress.history.append(record)
            let isBest = progress.bestAccuracy.map { record.testAccuracy > $0 } ?? true
            if isBest {
                progress.bestAccuracy = record.testAccuracy
                progress.bestEpoch = record.epoch
                if let bestModelPath { try ClassifierFile.write(model, description: description, to: bestModelPath) }
            }
            try saveCheckpoint()
            observer?.epochFinished(record, epochs: recipe.epochs, isBest: isBest)
            if shouldStop() && progress.epoch < recipe.epochs { return .interrupted }
        }
        return .finished
    }

    /// Mean cross-entropy (no smoothing) and the confusion matrix over `set`, in evaluation mode.
    public func evaluate(_ set: ImageSet, batchSize: Int = 250) -> (loss: Double, confusion: ConfusionMatrix) {
        ClassifierEvaluation.evaluate(model, on: set, normalization: description.normalization, batchSize: batchSize)
    }

    public func saveCheckpoint() throws {
        guard let checkpointPath else { return }
        try ClassifierCheckpoint.write(
            model, description: description, recipe: recipe, progress: progress, optimizerState: optimizerState, to: checkpointPath)
    }
}

/// Evaluation of a classifier on a labelled set, shared by training and `atelier evaluate`-style checks.
public enum ClassifierEvaluation {
    public static func evaluate(_ model: any ImageClassifier, on set: ImageSet, normalization: Normalization, batchSize: Int = 250)
        -> (loss: Double, confusion: ConfusionMatrix)
    {
        let backend = model.parameters[0].backend
        let input = model.input
        let loader = ImageBatchLoader(
            set: set, batchSize: batchSize, normalization: normalization, augmentation: .none, shuffle: false, seed: 0)
        loader.start(epoch: 0)
        var confusion = ConfusionMatrix(classes: model.classes)
        var lossTotal = 0.0
        while let batch = loader.next() {
            withoutGradients {
                let x = Variable(
                    backend.tensor(batch.images, shape: [batch.count, input.channels, input.height, input.width]), backend: backend)
                let logits = model.logits(x, training: false, seed: 0)
                let labels = backend.tensor(batch.labels, shape: [batch.count])
                lossTotal += backend.doubles(logits.crossEntropy(targets: labels).value)[0] * Double(batch.count)
                let values = backend.floats(logits.value)
                for row in 0..<batch.count {
                    let scores = values[(row * model.classes)..<((row + 1) * model.classes)]
                    let predicted = scores.indices.max { scores[$0] < scores[$1] }! - row * model.classes
                    confusion.add(truth: Int(batch.labels[row]), predicted: predicted)
                }
            }
        }
        return (set.count > 0 ? lossTotal / Double(set.count) : .nan, confusion)
    }
}

func monotonicSeconds() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) * 1e-9
}
