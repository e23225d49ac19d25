import Autograd
import GGUF
import NeuralNetworks
import TensorOps
import Tensors
import Testing

@testable import Training

#if canImport(Glibc)
import Glibc
#endif

/// The training loop's promises: a resumed run is bit-identical to an uninterrupted one, a
/// non-finite loss stops the run naming the step and the last good checkpoint, and a checkpoint
/// that cannot be written leaves the previous one intact.
@Suite struct TrainerTests {
    static let text = Array(
        String(repeating: "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer. ", count: 20).utf8)
    let backend = CPUTensorBackend(threads: 2)
    let hyperparameters = LlamaHyperparameters(vocabularySize: 256, width: 16, layers: 2, heads: 2, kvHeads: 1, contextLength: 8)

    func recipe(steps: Int, learningRate: Double = 3e-3, checkpointInterval: Int = 0) -> TrainingConfiguration {
        var recipe = TrainingConfiguration()
        recipe.batchSize = 3
        recipe.steps = steps
        recipe.learningRate = learningRate
        recipe.minimumLearningRate = learningRate / 10
        recipe.warmupSteps = 2
        recipe.dropout = 0.1
        recipe.evaluationInterval = 3
        recipe.evaluationBatches = 2
        recipe.checkpointInterval = checkpointInterval
        recipe.seed = 7
        return recipe
    }

    func trainer(_ recipe: TrainingConfiguration, restoring saved: Checkpoint.Contents? = nil) throws -> Trainer {
        let tokens = Self.text.map { Int32($0) }
        let split = tokens.count * 9 / 10
        let train = try TokenBatches(tokens: Array(tokens[..<split]), context: 8, batchSize: recipe.batchSize, split: "training")
        let validation = try TokenBatches(tokens: Array(tokens[split...]), context: 8, batchSize: recipe.batchSize, split: "validation")
        let model =
            try saved.map { try LlamaGPT(hyperparameters: hyperparameters, restoring: $0.tensors, backend: backend) }
            ?? LlamaGPT(hyperparameters: hyperparameters, backend: backend, seed: recipe.seed)
        let trainer = Trainer(model: model, configuration: recipe, train: train, validation: validation, progress: saved?.progress)
        if let saved { try trainer.restoreOptimizerState(saved.tensors) }
        return trainer
    }

    func temporaryPath(_ name: String) -> String {
        let directory = "/tmp/atelier-trainer-tests-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        mkdir(directory, 0o755)
        return directory + "/" + name
    }

    final class Recorder: TrainingObserver {
        var losses: [Double] = []
        var validations: [Double] = []
        var failures = 0
        var saved: [Int] = []
        func stepFinished(_ record: StepRecord) { losses.append(record.loss) }
        func evaluated(step: Int, validationLoss: Double) { validations.append(validationLoss) }
        func checkpointSaved(path: String, step: Int) { saved.append(step) }
        func checkpointFailed(path: String, error: Error) { failures += 1 }
    }

    @Test func anInterruptedRunResumesBitForBit() throws {
        let straightPath = temporaryPath("straight.gguf"), resumedPath = temporaryPath("resumed.gguf")
        let straight = try trainer(recipe(steps: 8))
        straight.checkpointPath = straightPath
        let straightLog = Recorder()
        #expect(try straight.run(observer: straightLog) == .finished)

        let first = try trainer(recipe(steps: 8))
        first.checkpointPath = resumedPath
        first.shouldStop = { [unowned first] in first.progress.step == 3 }
        let firstLog = Recorder()
        #expect(try first.run(observer: firstLog) == .interrupted(step: 3))
        let saved = try Checkpoint.read(from: resumedPath)
        #expect(saved.progress.step == 3)
        let second = try trainer(recipe(steps: 8), restoring: saved)
        second.checkpointPath = resumedPath
        let secondLog = Recorder()
        #expect(try second.run(observer: secondLog) == .finished)

        #expect(firstLog.losses + secondLog.losses == straightLog.losses)
        let a = try Checkpoint.read(from: straightPath), b = try Checkpoint.read(from: resumedPath)
        var (aProgress, bProgress) = (a.progress, b.progress)
        (aProgress.elapsedSeconds, bProgress.elapsedSeconds) = (0, 0)  // wall time is the one thing allowed to differ
        #expect(aProgress == bProgress)
        #expect(Set(a.tensors.keys) == Set(b.tensors.keys) && a.tensors.count == 3 * LlamaGPT.parameterNames(hyperparameters).count)
        for (name, tensor) in a.tensors {
            #expect(tensor.values == b.tensors[name]?.values, "\(name) differs after resuming")
        }
        // The loss went down: the loop trains.
        #expect(straightLog.losses.last! < straightLog.losses.first!)
    }

    @Test func aNonFiniteLossStopsAndNamesTheLastGoodCheckpoint() throws {
        let path = temporaryPath("diverged.gguf")
        let run = try trainer(recipe(steps: 50, learningRate: 1e30, checkpointInterval: 1))
        run.checkpointPath = path
        var failure: TrainingError?
        do { _ = try run.run(observer: nil) } catch let error as TrainingError { failure = error }
        guard case .nonFiniteLoss(let step, _, let checkpoint) = failure else {
            Issue.record("expected a non-finite loss, got \(String(describing: failure))")
            return
        }
        #expect(checkpoint == path)
        #expect(step >= 2)
        let saved = try Checkpoint.read(from: path)
        #expect(saved.progress.step == step - 1)
        #expect(failure!.description.contains("at step \(step)") && failure!.description.contains(path))
    }

    @Test func aCheckpointThatCannotBeWrittenLeavesThePreviousOne() throws {
        let path = temporaryPath("kept.gguf")
        let run = try trainer(recipe(steps: 6, checkpointInterval: 2))
        run.checkpointPath = path
        // After the first checkpoint, the writer's temporary file cannot be created (a directory is
        // in its way): every later write fails as a full disk makes it fail, after the old file.
        let log = Recorder()
        run.shouldStop = { [unowned run] in
            if run.progress.step == 3 { mkdir(path + ".tmp-\(getpid())", 0o755) }
            return false
        }
        #expect(try run.run(observer: log) == .finished)
        #expect(log.saved == [2])
        #expect(log.failures == 2)
        let saved = try Checkpoint.read(from: path)
        #expect(saved.progress.step == 2)
    }

    @Test func dataShorterThanAContextWindowIsRefused() {
        #expect(throws: TrainingError.dataTooShort(split: "validation", tokens: 8, needed: 9)) {
            try TokenBatches(tokens: [Int32](repeating: 1, count: 8), context: 8, batchSize: 2, split: "validation")
        }
    }
}
