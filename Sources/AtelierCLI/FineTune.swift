import Adapters
import ArgumentParser
import Chat
import Compute
import Datasets
import FineTuning
import GGUF
import ModelInspection
import ModelStore
import TensorOps
import Tokenizers
import Training

#if canImport(Glibc)
import Glibc
#endif

struct FineTune: ParsableCommand {
    static let frozenForwards: [String: CPUTensorBackend.FrozenForward] = [
        "auto": .automatic, "quantized": .quantizedKernels, "dequantized": .dequantized,
    ]
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Fine-tune a GGUF model with LoRA on jsonl data; writes an adapter llama.cpp loads.",
        discussion: """
            The base model stays frozen in its stored (quantized) type — QLoRA — and only the LoRA
            matrices train. Data: jsonl lines of {"text"}, {"messages"} (the model's chat template; only
            assistant turns are trained) or {"prompt", "completion"} (only the completion is trained).
              atelier finetune smollm2-135m --data sentiment --steps 300 --out sentiment.gguf
              atelier finetune MODEL --data train.jsonl --valid valid.jsonl --rank 16 --epochs 2
              atelier run MODEL --lora sentiment.gguf -p "..."
            Beside the adapter: OUT.metrics.jsonl (one JSON object per step and per evaluation),
            OUT.loss.svg and OUT.checkpoint.gguf.
            """)

    @Argument(help: "A stored or built-in model name, or a .gguf path (llama or gemma3).")
    var model: String

    @Option(help: "Training data: a jsonl file, or \"sentiment\" (the built-in Rotten Tomatoes set).")
    var data: String

    @Option(help: "Validation jsonl (default with --data sentiment: 200 examples held out of its training split).")
    var valid: String?

    @Option(help: "LoRA rank.") var rank = 8
    @Option(help: "LoRA alpha (the update is scaled by alpha / rank).") var alpha = 16.0
    @Option(help: "Projections to adapt: q,k,v,o,gate,up,down, all, attention or mlp.") var targets = "all"
    @Option(help: "Optimizer steps (default: one epoch).") var steps: Int?
    @Option(help: "Epochs over the training data (instead of --steps).") var epochs: Double?
    @Option(name: .customLong("batch"), help: "Examples per step.") var batchSize = 4
    @Option(help: "Longest example in tokens; longer ones are truncated (counted).") var context = 512
    @Option(name: .customLong("lr"), help: "Peak learning rate (AdamW, warmup then cosine to a tenth).") var learningRate = 2e-4
    @Option(help: "Warmup steps (default: 5% of the steps).") var warmup: Int?
    @Option(name: .customLong("eval-every"), help: "Validation loss every N steps.") var evaluationInterval = 50
    @Option(name: .customLong("eval-examples"), help: "Validation examples per evaluation.") var evaluationExamples = 200
    @Option(help: "Stop after N evaluations without a better validation loss (0: never).") var patience = 0
    @Flag(name: .customLong("grad-checkpoint"), help: "Recompute each block's activations in backward (less memory, ~30% slower).")
    var gradientCheckpointing = false
    @Flag(name: .customLong("train-on-prompt"), help: "Also train on prompts and user turns.") var trainOnPrompt = false
    @Flag(name: .customLong("skip-bad-lines"), help: "Skip malformed jsonl lines (counted) instead of stopping.") var skipBadLines = false
    @Option(help: "The adapter file to write (the best by validation loss when there is validation data).") var out = "adapter.gguf"
    @Option(help: "Also write the adapter for Hugging Face PEFT: peft (a directory beside --out).") var format: String?
    @Option(help: "Continue from a checkpoint written by an earlier run (<out>.checkpoint.gguf).") var resume: String?
    @Option(name: .customLong("loss-curve"), help: "Write the loss curve as SVG here (default: <out>.loss.svg).") var lossCurve: String?
    @Option(
        name: .customLong("frozen-forward"),
        help: "auto (default: f32 GEMM on dequantized tiles from 32 tokens a batch, the inference kernels below), quantized or dequantized."
    )
    var frozenForward = "auto"
    @Option(
        name: .customLong("frozen-precision"),
        help:
            "auto (default: bf16 where the CPU has AVX512-BF16, else f32), f32 or bf16: the arithmetic of products with the frozen weights."
    )
    var frozenPrecision = "auto"
    @Option(help: "Random seed (LoRA initialisation and data order).") var seed: UInt64 = 0
    @Option(name: [.short, .customLong("threads")], help: "CPU threads (default: all cores).") var threads: Int?

    func validate() throws {
        if rank < 1 { throw ValidationError("--rank \(rank): expected at least 1") }
        if let steps, steps < 1 { throw ValidationError("--steps \(steps): expected at least 1") }
        if let epochs, !(epochs > 0) { throw ValidationError("--epochs \(epochs): expected a positive number") }
        if steps != nil && epochs != nil { throw ValidationError("give --steps or --epochs, not both") }
        if batchSize < 1 { throw ValidationError("--batch \(batchSize): expected at least 1") }
        if context < 2 { throw ValidationError("--context \(context): expected at least 2") }
        if !(learningRate > 0) { throw ValidationError("--lr \(learningRate): expected a positive number") }
        if let format, format != "peft" { throw ValidationError("--format \(format): expected peft") }
        if FineTune.frozenForwards[frozenForward] == nil {
            throw ValidationError("--frozen-forward \(frozenForward): expected auto, quantized or dequantized")
        }
        _ = try ProductPrecision.parse(frozenPrecision, option: "--frozen-precision")
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads \(threads): expected 1…256") }
    }

    func run() throws {
        let lora = try LoRAConfiguration(rank: rank, alpha: alpha, targets: try LoRAConfiguration.parseTargets(targets))
        try CPUTensorBackend.requireBLAS()
        let path = try ModelStore().resolve(model, progress: TerminalProgress())
        let file = try GGUFFile(path: path)
        try FineTuneMemoryCheck.require(
            file: file, rank: rank, targets: lora.targets.map(\.rawValue), batch: batchSize, context: context,
            checkpointing: gradientCheckpointing)
        let backend = CPUTensorBackend(
            threads: threads ?? CPUBackend.defaultThreadCount,
            frozenForward: FineTune.frozenForwards[frozenForward] ?? .automatic,
            frozenPrecision: try ProductPrecision.parse(frozenPrecision, option: "--frozen-precision"))
        let (model, tokenizer) = try FineTuningModels.load(file: file, lora: lora, backend: backend, seed: seed)
        if let longest = model.maximumSequenceLength, context > longest {
            throw ValidationError(
                "--context \(context): \(file.metadata.architecture ?? "this model") fine-tunes sequences up to its sliding window, \(longest) tokens"
            )
        }
        let chat = try? ChatFormat(metadata: file.metadata, tokenizer: tokenizer, source: path)

        var trainPath = data, validPath = valid
        var heldOut = 0
        if data == SentimentDataset.name && access(data, F_OK) != 0 {
            trainPath = try SentimentDataset.prepare(progress: TerminalProgress()).train
            if valid == nil { heldOut = 200 }
        }
        func load(_ path: String) throws -> FineTuningDataset {
            try FineTuningDataset.load(
                path: path, tokenizer: tokenizer, chatFormat: chat, context: context, trainOnPrompt: trainOnPrompt,
                skipBadLines: skipBadLines)
        }
        let trainSet = try load(trainPath)
        report(trainSet, role: "train")
        var trainExamples = trainSet.examples
        var validation: [FineTuningExample] = []
        if let validPath {
            let set = try load(validPath)
            report(set, role: "valid")
            validation = set.examples
        } else if heldOut > 0 && trainExamples.count > 2 * heldOut {
            validation = Array(trainExamples.suffix(heldOut))
            trainExamples.removeLast(heldOut)
            validPath = "\(heldOut) examples held out of \(trainPath)"
        }
        let perEpoch = (trainExamples.count + batchSize - 1) / batchSize
        let totalSteps = steps ?? max(1, Int(((epochs ?? 1) * Double(perEpoch)).rounded()))
        let recipe = FineTuningRecipe(
            rank: rank, alpha: alpha, targets: lora.targets.map(\.rawValue), steps: totalSteps, batchSize: batchSize, context: context,
            learningRate: learningRate, warmupSteps: warmup ?? max(1, totalSteps / 20), evaluationInterval: evaluationInterval,
            evaluationExamples: evaluationExamples, patience: patience, gradientCheckpointing: gradientCheckpointing, seed: seed)

        var progress: FineTuningProgress?
        var restored: FineTuningCheckpoint.Contents?
        if let resume {
            let contents = try FineTuningCheckpoint.read(from: resume)
            guard contents.recipe.rank == recipe.rank && contents.recipe.targets == recipe.targets else {
                throw ValidationError(
                    "\(resume) was trained with rank \(contents.recipe.rank) on \(contents.recipe.targets.joined(separator: ",")); "
                        + "this run asks for rank \(recipe.rank) on \(recipe.targets.joined(separator: ","))")
            }
            progress = contents.progress
            restored = contents
        }
        let batches = try FineTuningBatches(
            examples: trainExamples, batchSize: batchSize, position: progress?.position ?? DataPosition(seed: seed))
        let tuner = FineTuner(model: model, recipe: recipe, train: batches, validation: validation, progress: progress)
        if let restored { try tuner.restore(restored) }
        tuner.adapterPath = out
        tuner.checkpointPath = out + ".checkpoint.gguf"
        tuner.checkpointInterval = max(evaluationInterval, 50)
        tuner.adapterName = "\(file.metadata.string("general.name") ?? self.model) LoRA"
        Interrupts.install()
        tuner.shouldStop = { Interrupts.isRequested }

        let c = model.configuration
        print(
            "fine-tuning \(path): \(c.architecture), \(c.blockCount) blocks; LoRA rank \(rank), alpha \(Format.fixed(alpha, 1)) on "
                + "\(lora.targets.map(\.rawValue).joined(separator: ",")): \(model.parameterCount) trainable parameters")
        print(
            "\(trainExamples.count) training examples\(validPath.map { ", validation: \($0) (\(validation.count) used)" } ?? ""); "
                + "\(totalSteps) steps of \(batchSize), lr \(learningRate), \(backend.pool.threadCount) threads"
                + (resume.map { ", resuming at step \(progress?.step ?? 0) from \($0)" } ?? ""))
        let display = FineTuneDisplay(
            curvePath: lossCurve ?? out + ".loss.svg", metricsPath: out + ".metrics.jsonl", appending: resume != nil)
        let outcome = try tuner.run(observer: display)
        display.finish()
        switch outcome {
        case .finished: print("finished \(tuner.progress.step) steps in \(Format.fixed(tuner.progress.elapsedSeconds, 1)) s")
        case .earlyStopped(let step): print("stopped early at step \(step): \(patience) evaluations without a better validation loss")
        case .interrupted(let step): print("interrupted at step \(step); continue with --resume \(out).checkpoint.gguf")
        }
        if let best = tuner.progress.bestValidationLoss, let step = tuner.progress.bestStep {
            print("best validation loss \(Format.fixed(best, 4)) at step \(step): \(out)")
        } else {
            print("adapter: \(out)")
        }
        if format == "peft" {
            let adapter = try LoRAAdapter.read(path: out)
            let directory = out.hasSuffix(".gguf") ? String(out.dropLast(5)) + "-peft" : out + "-peft"
            try PEFTExport.write(adapter, base: file, baseModelName: self.model, to: directory)
            print("PEFT adapter: \(directory)/adapter_model.safetensors, adapter_config.json")
        }
        if let peak = Terminal.peakResidentBytes() { print("peak memory: \(Format.bytes(peak))") }
    }

    private func report(_ set: FineTuningDataset, role: String) {
        var notes: [String] = []
        if set.truncated > 0 { notes.append("\(set.truncated) truncated to \(context) tokens") }
        if set.dropped > 0 { notes.append("\(set.dropped) dropped (nothing left to train)") }
        if set.skipped > 0 { notes.append("\(set.skipped) bad lines skipped") }
        print(
            "\(role): \(set.path): \(set.examples.count) examples (\(set.format)), \(set.tokenCount) tokens, "
                + "\(set.trainedTokenCount) trained" + (notes.isEmpty ? "" : "; " + notes.joined(separator: ", ")))
    }
}

/// Progress lines (every 10 steps or 10 seconds), evaluations, saved files, the loss curve, and
/// the metrics log: one JSON object per step (loss, learning rate, tokens/s over the last window,
/// seconds since the start) and per evaluation, as `train gpt` writes — what a script reads to
/// time the steps it chooses.
final class FineTuneDisplay: FineTuningObserver {
    let curvePath: String
    var points: [LossCurve.Point] = []
    var lastPrinted = 0.0
    var recentLosses: [Double] = []
    private let metrics: MetricsLog

    init(curvePath: String, metricsPath: String, appending: Bool) {
        self.curvePath = curvePath
        metrics = MetricsLog(path: metricsPath, appending: appending)
    }

    /// Progress shows as it happens, also in a pipe or a log file (never a silent run).
    private func flush() { fflush(nil) }

    func stepFinished(step: Int, of total: Int, loss: Double, learningRate: Double, tokensPerSecond: Double, elapsed: Double) {
        recentLosses.append(loss)
        points.append(LossCurve.Point(step: step, trainLoss: loss, validationLoss: nil))
        metrics.record(
            step: step,
            [
                "train_loss": loss, "lr": learningRate, "tokens_per_second": tokensPerSecond, "elapsed_seconds": elapsed,
            ])
        guard step % 10 == 0 || step == total || elapsed - lastPrinted > 10 || step == 1 else { return }
        lastPrinted = elapsed
        let mean = recentLosses.reduce(0, +) / Double(recentLosses.count)
        recentLosses.removeAll()
        let eta = elapsed / Double(step) * Double(total - step)
        print(
            "step \(step)/\(total)  loss \(Format.fixed(mean, 4))  lr \(String(format: learningRate))  "
                + "\(Int(tokensPerSecond.rounded())) tok/s  elapsed \(Format.fixed(elapsed, 0)) s  ETA \(Format.fixed(eta, 0)) s")
        flush()
    }

    func evaluated(step: Int, validationLoss: Double, isBest: Bool) {
        if let last = points.indices.last { points[last].validationLoss = validationLoss }
        metrics.record(step: step, ["val_loss": validationLoss])
        print("step \(step): validation loss \(Format.fixed(validationLoss, 4))\(isBest ? " (best)" : "")")
        flush()
    }

    func saved(path: String, what: String) {
        if what.hasPrefix("checkpoint") { return }
        print("saved \(what): \(path)")
    }

    func finish() {
        metrics.flush()
        do { try LossCurve.write(records: points, to: curvePath, title: "fine-tuning loss") } catch {
            Terminal.warn("could not write \(curvePath): \(error)")
        }
    }
}

extension String {
    fileprivate init(format value: Double) {
        var buffer = [CChar](repeating: 0, count: 32)
        _ = withVaList([value]) { vsnprintf(&buffer, 32, "%.2e", $0) }
        self = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
