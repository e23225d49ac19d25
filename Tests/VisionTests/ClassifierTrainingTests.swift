import Autograd
import Foundation
import GGUF
import ImageData
import NeuralNetworks
import TensorOps
import Tensors
import Testing

@testable import Vision

/// The training loop, model files and checkpoints on a task small enough to learn in seconds:
/// 8×8 images holding one bright horizontal (class 0) or vertical (class 1) bar on dim noise.
@Suite struct ClassifierTrainingTests {
    static func bars(count: Int, seed: UInt64) throws -> ImageSet {
        var state = seed | 1
        func next() -> UInt64 {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return state
        }
        var pixels = [UInt8](repeating: 0, count: count * 64), labels: [Int32] = []
        for image in 0..<count {
            let label = Int32(image % 2), line = Int(next() % 8)
            for i in 0..<64 {
                let (row, column) = (i / 8, i % 8)
                let onBar = label == 0 ? row == line : column == line
                pixels[image * 64 + i] = onBar ? 200 + UInt8(next() % 56) : UInt8(next() % 60)
            }
            labels.append(label)
        }
        return try ImageSet(channels: 1, height: 8, width: 8, pixels: pixels, labels: labels, classNames: ["horizontal", "vertical"])
    }

    static func temporaryPath(_ name: String) -> String { "/tmp/atelier-vision-\(getpid())-\(name)" }

    func trainer(_ architecture: ClassifierArchitecture, epochs: Int, backend: CPUTensorBackend) throws -> ClassifierTrainer {
        let train = try Self.bars(count: 96, seed: 3), test = try Self.bars(count: 32, seed: 5)
        let input = ImageShape(channels: 1, height: 8, width: 8)
        var recipe = ClassifierRecipe(architecture: architecture, epochs: epochs, batchSize: 16, learningRate: 0.05)
        recipe.cropPadding = 1
        recipe.horizontalFlip = true
        let model = try ImageClassifiers.make(architecture, input: input, classes: 2, backend: backend, seed: 7)
        let description = ClassifierFile.Description(
            architecture: architecture, input: input, classNames: train.classNames, normalization: Normalization.measured(from: train))
        return ClassifierTrainer(model: model, recipe: recipe, description: description, train: train, test: test)
    }

    @Test(arguments: [ClassifierArchitecture.mlp, .cnn, .resnet8]) func learnsBars(_ architecture: ClassifierArchitecture) throws {
        let trainer = try trainer(architecture, epochs: 4, backend: CPUTensorBackend(threads: 2))
        #expect(try trainer.run(observer: nil) == .finished)
        let history = trainer.progress.history
        #expect(history.count == 4)
        // Chance is 50 %; the bars are unmistakable.
        #expect((trainer.progress.bestAccuracy ?? 0) >= 0.9, "\(history)")
        #expect(history.last!.trainLoss < history.first!.trainLoss)
    }

    @Test func modelFileRoundTripsParametersAndStatistics() throws {
        let backend = CPUTensorBackend(threads: 2)
        let trainer = try trainer(.resnet8, epochs: 1, backend: backend)
        _ = try trainer.run(observer: nil)
        let path = Self.temporaryPath("roundtrip.gguf")
        defer { unlink(path) }
        try ClassifierFile.write(trainer.model, description: trainer.description, to: path)
        let (model, description) = try ClassifierFile.read(from: path, backend: backend)
        #expect(description == trainer.description)
        #expect(model.parameters.map(\.name) == trainer.model.parameters.map(\.name))
        for (a, b) in zip(model.parameters, trainer.model.parameters) { #expect(backend.floats(a.value) == backend.floats(b.value)) }
        for (a, b) in zip(model.batchNorms, trainer.model.batchNorms) {
            #expect(a.runningMean.map(Float.init) == b.runningMean.map(Float.init))
            #expect(a.runningVariance.map(Float.init) == b.runningVariance.map(Float.init))
        }
        let (loss, confusion) = ClassifierEvaluation.evaluate(model, on: trainer.test, normalization: description.normalization)
        let (expectedLoss, expectedConfusion) = trainer.evaluate(trainer.test)
        #expect(confusion == expectedConfusion)
        #expect(abs(loss - expectedLoss) <= 1e-5 * max(1, expectedLoss))
    }

    @Test func brokenModelFilesAreRefusedByName() throws {
        let backend = CPUTensorBackend(threads: 1)
        let trainer = try trainer(.mlp, epochs: 1, backend: backend)
        let path = Self.temporaryPath("broken.gguf")
        defer { unlink(path) }
        func expectRefusal(_ expected: String, _ edit: (inout GGUFMetadata, inout [(name: String, shape: [Int], values: [Float])]) -> Void)
            throws
        {
            var metadata = ClassifierFile.metadata(trainer.description, type: "model")
            var tensors = ClassifierFile.namedTensors(trainer.model)
            edit(&metadata, &tensors)
            var writer = GGUFWriter(metadata: metadata)
            try ClassifierFile.addTensors(tensors, to: &writer)
            try writer.write(to: path)
            #expect(throws: (any Error).self) { _ = try ClassifierFile.read(from: path, backend: backend) }
            do { _ = try ClassifierFile.read(from: path, backend: backend) } catch {
                #expect("\(error)".contains(path) && "\(error)".contains(expected), "\(error)")
            }
        }
        try expectRefusal("general.architecture") { metadata, _ in metadata["general.architecture"] = .string("llama") }
        try expectRefusal("classifier.architecture") { metadata, _ in metadata["classifier.architecture"] = .string("vgg16") }
        try expectRefusal("classifier.input") { metadata, _ in metadata["classifier.input"] = .array(.int32([1, 0, 8])) }
        try expectRefusal("classifier.classes") { metadata, _ in metadata["classifier.classes"] = .array(.string(["only"])) }
        try expectRefusal("normalization") { metadata, _ in metadata["classifier.normalization.std"] = .array(.float32([0])) }
        try expectRefusal("fc2.weight is missing") { _, tensors in tensors.removeAll { $0.name == "fc2.weight" } }
        try expectRefusal("fc1.bias") { _, tensors in
            let index = tensors.firstIndex { $0.name == "fc1.bias" }!
            tensors[index] = ("fc1.bias", [3], [1, 2, 3])
        }
        // A file cut short: the GGUF reader's own error, with the path.
        let whole = try trainer.run(observer: nil)
        #expect(whole == .finished)
        try ClassifierFile.write(trainer.model, description: trainer.description, to: path)
        truncate(path, 300)
        #expect(throws: VisionError.self) { _ = try ClassifierFile.read(from: path, backend: backend) }
    }

    /// A run stopped mid-epoch and resumed from its checkpoint ends with the same weights as one
    /// that was never stopped: same batches, same augmentation, same optimizer state.
    @Test func resumedRunEqualsUninterruptedRun() throws {
        let backend = CPUTensorBackend(threads: 2)
        let straight = try trainer(.cnn, epochs: 2, backend: backend)
        _ = try straight.run(observer: nil)

        let path = Self.temporaryPath("resume.checkpoint.gguf")
        defer { unlink(path) }
        let first = try trainer(.cnn, epochs: 2, backend: backend)
        first.checkpointPath = path
        first.shouldStop = { first.progress.step == 9 }  // epoch 2, batch 3 of 6
        #expect(try first.run(observer: nil) == .interrupted)
        let saved = try ClassifierCheckpoint.read(from: path, backend: backend)
        #expect(saved.progress.step == 9 && saved.progress.epoch == 1 && saved.progress.batchInEpoch == 3)
        let second = ClassifierTrainer(
            model: saved.model, recipe: saved.recipe, description: saved.description, train: straight.train, test: straight.test,
            progress: saved.progress)
        try saved.restoreOptimizerState(second.optimizerState, backend: backend)
        #expect(try second.run(observer: nil) == .finished)
        #expect(second.progress.step == straight.progress.step)
        for (a, b) in zip(second.model.parameters, straight.model.parameters) {
            #expect(backend.floats(a.value) == backend.floats(b.value), "\(a.name)")
        }
    }

    @Test func confusionMatrixByHand() {
        var matrix = ConfusionMatrix(classes: 3)
        for (truth, predicted) in [(0, 0), (0, 0), (0, 1), (1, 1), (2, 0), (2, 2), (2, 2), (2, 2)] {
            matrix.add(truth: truth, predicted: predicted)
        }
        #expect(matrix.total == 8 && matrix.correct == 6)
        #expect(matrix.accuracy == 0.75)
        #expect(matrix.recall(0) == 2.0 / 3 && matrix.recall(1) == 1 && matrix.recall(2) == 0.75)
        let table = matrix.table(names: ["a", "b", "c"])
        #expect(table.contains("66.7%") && table.contains("100.0%") && table.contains("75.0%"))
    }
}
