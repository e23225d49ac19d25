import ArgumentParser
import ImageData
import ModelInspection
import ModelStore
import TensorOps
import Training
import Vision

#if canImport(Glibc)
import Glibc
#endif

struct TrainClassifier: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classifier",
        abstract: "Train an image classifier (MLP, LeNet-5, a CNN, ResNet-8/20) on Fashion-MNIST, MNIST or CIFAR-format data.",
        discussion: """
            Example (Fashion-MNIST from Debian's dataset-fashion-mnist package):
              atelier train classifier --data fashion-mnist --model cnn --epochs 8 --out fashion.gguf
              atelier predict fashion.gguf shoe.jpg --invert
            --data DIR reads IDX files (train-images-idx3-ubyte[.gz] …) or CIFAR-10/100 binary batches.
            Beside the model (the epoch with the best test accuracy): NAME.checkpoint.gguf (after every
            epoch and on Ctrl-C; --resume continues) and NAME.loss.svg. docs/LEARN.md walks through it.
            """)

    @Option(help: "fashion-mnist, mnist, a directory of IDX or CIFAR files, or random:CxHxW (benchmarks).")
    var data = "fashion-mnist"
    @Option(help: "mlp, lenet, cnn, resnet8 or resnet20.") var model = "cnn"
    @Option(help: "Passes over the training set.") var epochs = 10
    @Option(help: "Images per step.") var batch = 128
    @Option(help: "Peak learning rate of the one-cycle schedule (default: 0.05, resnets 0.1).") var lr: Double?
    @Option(name: .customLong("weight-decay"), help: "SGD weight decay.") var weightDecay = 5e-4
    @Option(name: .customLong("label-smoothing"), help: "Label smoothing ε.") var labelSmoothing = 0.1
    @Flag(help: "Random crops (padding 1/8 of the size) and horizontal flips.") var augment = false
    @Option(help: "Stop after this many steps and report images/s (benchmarks).") var steps: Int?
    @Option(help: "Random seed (initialisation, shuffling, augmentation, dropout).") var seed: UInt64 = 1
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(
        help:
            "auto (default: bf16 where the CPU has AVX512-BF16, else f32), f32 or bf16: the arithmetic of the convolutions' products (mixed precision: bf16 operands, f32 sums and weights)."
    )
    var precision = "auto"
    @Option(help: "Output model (.gguf).") var out = "classifier.gguf"
    @Option(help: "Also write: safetensors (NAME.safetensors).") var format: String?
    @Flag(help: "Continue from NAME.checkpoint.gguf.") var resume = false

    var base: String { out.hasSuffix(".gguf") ? String(out.dropLast(5)) : out }

    func validate() throws {
        guard ClassifierArchitecture(rawValue: model) != nil else {
            throw ValidationError(
                "--model \(model): expected one of \(ClassifierArchitecture.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let format, format != "safetensors", format != "gguf" {
            throw ValidationError("--format \(format): expected gguf or safetensors")
        }
        if let threads, threads < 1 || threads > 1024 { throw ValidationError("--threads \(threads): expected 1…1024") }
        _ = try ProductPrecision.parse(precision, option: "--precision")
    }

    func run() throws {
        Interrupts.install()
        let architecture = ClassifierArchitecture(rawValue: model)!
        let threadCount = threads ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let (train, test) = try loadData()
        let input = ImageShape(channels: train.channels, height: train.height, width: train.width)
        var recipe = ClassifierRecipe(
            architecture: architecture, epochs: epochs, batchSize: batch,
            learningRate: lr ?? (architecture == .resnet8 || architecture == .resnet20 ? 0.1 : 0.05))
        recipe.weightDecay = weightDecay
        recipe.labelSmoothing = labelSmoothing
        recipe.cropPadding = augment ? max(1, min(input.height, input.width) / 8) : 0
        recipe.horizontalFlip = augment
        recipe.seed = seed
        recipe.maximumSteps = steps
        try recipe.validate()

        try CPUTensorBackend.requireBLAS()
        let backend = CPUTensorBackend(
            threads: threadCount, convolutionPrecision: try ProductPrecision.parse(precision, option: "--precision"))
        let checkpointPath = base + ".checkpoint.gguf"
        let trainer: ClassifierTrainer
        if resume {
            let saved = try ClassifierCheckpoint.read(from: checkpointPath, backend: backend)
            guard saved.recipe == recipe else {
                throw ValidationError("--resume: \(checkpointPath) was trained with another recipe (\(saved.recipe)); use the same options")
            }
            guard saved.description.input == input, saved.description.classNames.count == train.classNames.count else {
                throw ValidationError(
                    "--resume: \(checkpointPath) was trained on \(saved.description.input) images, not this data (\(input))")
            }
            trainer = ClassifierTrainer(
                model: saved.model, recipe: recipe, description: saved.description, train: train, test: test, progress: saved.progress)
            try saved.restoreOptimizerState(trainer.optimizerState, backend: backend)
        } else {
            let network = try ImageClassifiers.make(
                architecture, input: input, classes: train.classNames.count, backend: backend, seed: seed)
            let description = ClassifierFile.Description(
                architecture: architecture, input: input, classNames: train.classNames, normalization: Normalization.measured(from: train))
            trainer = ClassifierTrainer(model: network, recipe: recipe, description: description, train: train, test: test)
        }
        trainer.checkpointPath = steps == nil ? checkpointPath : nil
        trainer.bestModelPath = steps == nil ? out : nil
        trainer.shouldStop = { Interrupts.isRequested }

        Terminal.status(
            "Training \(model) (\(Format.count(Int64(trainer.model.parameterCount))) parameters) on \(Format.grouped(Int64(train.count))) "
                + "\(input) images in \(train.classNames.count) classes, testing on \(Format.grouped(Int64(test.count))); "
                + "batch \(batch), \(epochs) epochs of \(trainer.batchesPerEpoch) steps, peak lr \(recipe.learningRate), "
                + "\(augment ? "augmented, " : "")convolutions in \(backend.convolutionPrecision.rawValue), \(threadCount) threads"
                + (resume ? ", resuming at epoch \(trainer.progress.epoch + 1) step \(trainer.progress.step)" : ""))
        let display = ClassifierDisplay()
        let outcome = try trainer.run(observer: display)
        display.finish()
        switch outcome {
        case .stepLimit(let rate):
            Terminal.status(
                "Stopped after \(trainer.progress.step) steps: \(Format.fixed(rate, 1)) images/s (steps after the first 3); "
                    + "peak RSS \(Terminal.peakResidentBytes().map { Format.bytes($0) } ?? "?")")
            return
        case .interrupted:
            Terminal.status(
                "Interrupted at step \(trainer.progress.step); checkpoint \(checkpointPath). Continue with the same command and --resume.")
            return
        case .finished:
            break
        }
        try writeCurve(trainer.progress)
        guard let bestEpoch = trainer.progress.bestEpoch, let bestAccuracy = trainer.progress.bestAccuracy else { return }
        let best = try ClassifierFile.read(from: out, backend: backend)
        let (_, confusion) = ClassifierEvaluation.evaluate(best.model, on: test, normalization: best.description.normalization)
        if format == "safetensors" {
            try ClassifierFile.writeSafetensors(best.model, description: best.description, to: base + ".safetensors")
        }
        Terminal.status("Confusion matrix of the best epoch (\(bestEpoch)) on the test set:\n" + confusion.table(names: test.classNames))
        Terminal.status(
            "Done: \(trainer.progress.history.count) epochs in \(TrainingDisplay.duration(trainer.progress.elapsedSeconds)); "
                + "best test accuracy \(Format.fixed(bestAccuracy * 100, 2))% (epoch \(bestEpoch)); "
                + "peak RSS \(Terminal.peakResidentBytes().map { Format.bytes($0) } ?? "?")")
        Terminal.status("Wrote \(out)\(format == "safetensors" ? ", \(base).safetensors" : ""), \(checkpointPath), \(base).loss.svg")
    }

    func loadData() throws -> (ImageSet, ImageSet) {
        if data.hasPrefix("random:") { return try RandomImages.sets(String(data.dropFirst(7)), seed: seed) }
        do { return try ImageDatasetLocator.locate(data) } catch { throw ValidationError("--data \(data): \(error)") }
    }

    func writeCurve(_ progress: ClassifierProgress) throws {
        var points = progress.stepLosses.enumerated().map {
            LossCurve.Point(step: $0.offset + 1, trainLoss: $0.element, validationLoss: nil)
        }
        let perEpoch = progress.history.isEmpty ? 0 : progress.stepLosses.count / progress.history.count
        for record in progress.history where perEpoch > 0 {
            let index = min(points.count - 1, record.epoch * perEpoch - 1)
            if index >= 0 { points[index].validationLoss = record.testLoss }
        }
        let accuracy = progress.history.filter { $0.epoch * perEpoch >= 1 }.map { (step: $0.epoch * perEpoch, value: $0.testAccuracy) }
        let svg = LossCurve.svg(
            points, title: "\(model): training loss, test loss (red) and test accuracy (green) per epoch", accuracy: accuracy)
        try ClassifierFile.writeAtomically(Array(svg.utf8), to: base + ".loss.svg")
    }
}

/// Random pixels and labels of a given shape: for timing training steps without a data set.
enum RandomImages {
    static func sets(_ shape: String, seed: UInt64) throws -> (ImageSet, ImageSet) {
        let parts = shape.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 3, parts.allSatisfy({ $0 >= 1 && $0 <= 1024 }) else {
            throw ValidationError("--data random:\(shape): expected random:CxHxW, e.g. random:3x32x32")
        }
        var state = seed | 1
        func make(_ count: Int) throws -> ImageSet {
            let size = parts[0] * parts[1] * parts[2]
            var pixels = [UInt8](repeating: 0, count: count * size)
            for i in pixels.indices {
                state ^= state << 13
                state ^= state >> 7
                state ^= state << 17
                pixels[i] = UInt8(truncatingIfNeeded: state)
            }
            let labels = (0..<count).map { Int32($0 % 10) }
            return try ImageSet(
                channels: parts[0], height: parts[1], width: parts[2], pixels: pixels, labels: labels, classNames: ClassNames.numbered(10))
        }
        return (try make(2048), try make(256))
    }
}

/// Progress of a classifier run: a line redrawn in place on a terminal (plain lines every few
/// seconds otherwise), and one line per epoch.
final class ClassifierDisplay: ClassifierTrainingObserver {
    private let isTerminal = isatty(2) == 1
    private var lastDraw = 0.0
    private var drewInPlace = false
    private var epochSeconds: [Double] = []

    func stepFinished(epoch: Int, batch: Int, batches: Int, loss: Double, imagesPerSecond: Double) {
        let now = TerminalProgress.monotonicClock()
        guard now - lastDraw >= (isTerminal ? 0.2 : 10) else { return }
        lastDraw = now
        let line =
            "epoch \(epoch + 1)  step \(batch)/\(batches)  loss \(Format.fixed(loss, 4))  \(Format.grouped(Int64(imagesPerSecond))) images/s"
        if isTerminal {
            Terminal.raw("\r\u{1B}[K" + line)
            drewInPlace = true
        } else {
            Terminal.status(line)
        }
    }

    func epochFinished(_ record: EpochRecord, epochs: Int, isBest: Bool) {
        finish()
        epochSeconds.append(record.seconds)
        let remaining = Double(epochs - record.epoch) * (epochSeconds.reduce(0, +) / Double(epochSeconds.count))
        Terminal.status(
            "epoch \(record.epoch)/\(epochs)  train loss \(Format.fixed(record.trainLoss, 4))  test loss \(Format.fixed(record.testLoss, 4))  "
                + "test accuracy \(Format.fixed(record.testAccuracy * 100, 2))%\(isBest ? " (best)" : "")  "
                + "\(Format.grouped(Int64(record.imagesPerSecond))) images/s  \(TrainingDisplay.duration(record.seconds))  "
                + "ETA \(TrainingDisplay.duration(remaining))")
    }

    func finish() {
        if drewInPlace { Terminal.raw("\r\u{1B}[K") }
        drewInPlace = false
    }
}
