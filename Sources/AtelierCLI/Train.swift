import ArgumentParser
import Datasets
import FoundationEssentials
import ModelInspection
import ModelStore
import TensorOps
import Tokenizers
import Training

#if canImport(Glibc)
import Glibc
#endif

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Train models on this machine's CPU.",
        subcommands: [TrainGPT.self, TrainClassifier.self])
}

struct TrainGPT: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gpt",
        abstract: "Train a small GPT (Llama architecture) from scratch on text; write a GGUF that atelier and llama.cpp run.",
        discussion: """
            Example (the nanoGPT CPU recipe on Shakespeare, fetched and cached on first use):
              atelier train gpt --data shakespeare --steps 2000 --out shakespeare.gguf
              atelier run shakespeare.gguf "ROMEO:" --temp 0.8
            Beside the model: NAME.metrics.jsonl (one line per step), NAME.loss.svg, NAME.checkpoint.gguf
            (Ctrl-C saves it; --resume continues bit for bit) and NAME.valid.txt (the validation text, for
            `atelier perplexity NAME.gguf -f NAME.valid.txt -c CONTEXT`). docs/TRAINING.md has the recipe.
            """)

    @Option(
        parsing: .upToNextOption,
        help: "Text files, or a built-in data set: \(BuiltInDataset.names.joined(separator: ", ")).")
    var data: [String] = []

    @Option(help: "Decoder blocks.") var layers = 4
    @Option(help: "Attention heads.") var heads = 4
    @Option(name: .customLong("kv-heads"), help: "Key/value heads (grouped-query attention; default: --heads).") var kvHeads: Int?
    @Option(help: "Model width.") var dim = 128
    @Option(help: "Feed-forward width (default: 8·dim/3 rounded up to a multiple of 16).") var ffn: Int?
    @Option(help: "Context length (tokens per training window).") var context = 64
    @Option(help: "Tokenizer vocabulary: 256 = bytes; larger trains a byte-level BPE of that size on the training text.")
    var vocab = 256
    @Option(help: "Sequences per step.") var batch = 12
    @Option(help: "Optimizer steps (the learning-rate schedule's length).") var steps = 2000
    @Option(help: "Stop after this many minutes (a checkpoint is saved; --resume continues).") var time: Double?
    @Option(help: "Peak learning rate.") var lr = 1e-3
    @Option(name: .customLong("min-lr"), help: "Final learning rate of the cosine decay (default: lr/10).") var minLR: Double?
    @Option(help: "Linear warmup steps.") var warmup = 100
    @Option(name: .customLong("weight-decay"), help: "AdamW weight decay on matrices.") var weightDecay = 0.1
    @Option(help: "Dropout probability.") var dropout = 0.0
    @Option(name: .customLong("val-fraction"), help: "Last fraction of the text held out for validation.") var valFraction = 0.1
    @Option(name: .customLong("eval-every"), help: "Validation loss every N steps (0: only at the end).") var evalEvery = 250
    @Option(name: .customLong("eval-batches"), help: "Batches per periodic validation estimate.") var evalBatches = 20
    @Option(name: .customLong("checkpoint-every"), help: "Checkpoint every N steps (0: at the end and on Ctrl-C).")
    var checkpointEvery = 500
    @Flag(name: .customLong("grad-checkpoint"), help: "Recompute each block's activations in backward (less memory, ~30% slower).")
    var gradientCheckpointing = false
    @Option(help: "Random seed (initialisation, batches, dropout).") var seed: UInt64 = 1337
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Output model (.gguf).") var out = "model.gguf"
    @Option(help: "Weights in the GGUF: f32, q8_0 or q4_1.") var quantize = "f32"
    @Option(help: "Also write: safetensors (a Hugging Face Llama directory NAME-hf/).") var format: String?
    @Flag(help: "Continue from NAME.checkpoint.gguf.") var resume = false
    @Option(name: .customLong("sample-tokens"), help: "Tokens of greedy text to print at the end.") var sampleTokens = 200
    @Option(help: "Prompt for the final sample (default: the first line of the validation text).") var prompt: String?
    @Flag(help: "Print the final summary as one JSON line on stdout.") var json = false

    var base: String { out.hasSuffix(".gguf") ? String(out.dropLast(5)) : out }

    func validate() throws {
        if data.isEmpty {
            throw ValidationError("missing --data FILE... (text files, or: \(BuiltInDataset.names.joined(separator: ", ")))")
        }
        guard ExportQuantization(rawValue: quantize) != nil else {
            throw ValidationError("--quantize \(quantize): expected f32, q8_0 or q4_1")
        }
        if let format, format != "safetensors", format != "gguf" {
            throw ValidationError("--format \(format): expected gguf or safetensors")
        }
        if let time, !(time > 0) { throw ValidationError("--time \(time): expected a positive number of minutes") }
        if let threads, threads < 1 || threads > 1024 { throw ValidationError("--threads \(threads): expected 1…1024") }
        guard vocab >= 256 && vocab <= BytePairTrainer.maximumVocabularySize else {
            throw ValidationError("--vocab \(vocab): expected 256 (bytes) … \(BytePairTrainer.maximumVocabularySize)")
        }
        guard sampleTokens >= 0 else { throw ValidationError("--sample-tokens \(sampleTokens): expected ≥ 0") }
    }

    func run() throws {
        Interrupts.install()
        let threadCount = threads ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        var recipe = TrainingConfiguration()
        recipe.batchSize = batch
        recipe.steps = steps
        recipe.learningRate = lr
        recipe.minimumLearningRate = minLR ?? lr / 10
        recipe.warmupSteps = warmup
        recipe.weightDecay = weightDecay
        recipe.dropout = dropout
        recipe.evaluationInterval = evalEvery
        recipe.evaluationBatches = evalBatches
        recipe.checkpointInterval = checkpointEvery
        recipe.gradientCheckpointing = gradientCheckpointing
        recipe.seed = seed
        try recipe.validate(context: context)

        let checkpointPath = base + ".checkpoint.gguf"
        let saved = resume ? try Checkpoint.read(from: checkpointPath) : nil
        if let saved, saved.configuration != recipe {
            throw ValidationError(
                "--resume: \(checkpointPath) was trained with another recipe (\(saved.configuration)); use the same options")
        }

        let corpus = try TextCorpus(data: data, progress: TerminalProgress())
        let (trainBytes, validationBytes) = try corpus.split(validationFraction: valFraction)
        let vocabulary: BytePairVocabulary
        if let saved {
            vocabulary = try TokenizerDescription.decode(saved.tokenizer)
        } else if vocab > 256 {
            Terminal.status("Training a byte-level BPE of \(vocab) tokens on \(trainBytes.count) bytes…")
            vocabulary = try BytePairTrainer(vocabularySize: vocab).train(on: trainBytes)
        } else {
            vocabulary = .bytes
        }
        let tokenizer = try vocabulary.makeTokenizer()
        func tokens(_ bytes: [UInt8]) -> [Int32] {
            vocabulary.merges.isEmpty
                ? bytes.map { Int32($0) }
                : tokenizer.encode(String(decoding: bytes, as: UTF8.self), addBOS: false, parseSpecialTokens: false)
        }
        let trainTokens = tokens(trainBytes), validationTokens = tokens(validationBytes)

        let hyperparameters = LlamaHyperparameters(
            vocabularySize: vocabulary.count, width: dim, layers: layers, heads: heads, kvHeads: kvHeads, ffnWidth: ffn,
            contextLength: context)
        do { try hyperparameters.validate() } catch { throw ValidationError("\(error)") }
        if let saved, saved.hyperparameters != hyperparameters {
            throw ValidationError(
                "--resume: \(checkpointPath) holds another model shape; use the same --layers/--heads/--dim/--context/--vocab")
        }
        let train = try TokenBatches(tokens: trainTokens, context: context, batchSize: batch, split: "training")
        let validation = try TokenBatches(tokens: validationTokens, context: context, batchSize: batch, split: "validation")

        try TrainingMemoryCheck.require(
            hyperparameters: hyperparameters, configuration: recipe, threads: threadCount,
            corpusBytes: trainBytes.count + validationBytes.count,
            corpusTokens: trainTokens.count + validationTokens.count)

        try CPUTensorBackend.requireBLAS()
        // ATELIER_GEMM_THREADS=openblas runs GEMMs on OpenBLAS's own threads instead of splitting them
        // over the pool (for scripts/bench-train-vs-pytorch.sh's comparison of the two).
        let gemmThreading: CPUTensorBackend.GEMMThreading =
            getenv("ATELIER_GEMM_THREADS").map { String(cString: $0) } == "openblas" ? .openBLAS : .pool
        let backend = CPUTensorBackend(threads: threadCount, gemmThreading: gemmThreading)
        let model: LlamaGPT
        if let saved {
            model = try LlamaGPT(hyperparameters: hyperparameters, restoring: saved.tensors, backend: backend)
        } else {
            model = try LlamaGPT(hyperparameters: hyperparameters, backend: backend, seed: seed)
        }
        let trainer = Trainer(model: model, configuration: recipe, train: train, validation: validation, progress: saved?.progress)
        if let saved { try trainer.restoreOptimizerState(saved.tensors) }
        trainer.checkpointPath = checkpointPath
        trainer.tokenizerDescription = TokenizerDescription.encode(vocabulary)
        trainer.shouldStop = { Interrupts.isRequested }
        trainer.timeLimit = time.map { $0 * 60 }

        try writeValidationText(validationBytes)
        let display = TrainingDisplay(metricsPath: base + ".metrics.jsonl", appending: saved != nil, quiet: json)
        Terminal.status(
            "Training \(Format.count(Int64(model.parameterCount))) parameters (\(layers) layers, \(heads) heads, width \(dim), context \(context), "
                + "vocabulary \(vocabulary.count)) on \(Format.grouped(Int64(trainTokens.count))) tokens, validating on \(Format.grouped(Int64(validationTokens.count))); "
                + "batch \(batch), \(steps) steps, \(threadCount) threads (OpenBLAS \(CPUTensorBackend.blasCoreName))"
                + (saved.map { ", resuming at step \($0.progress.step)" } ?? ""))
        let outcome = try trainer.run(observer: display)
        display.finish()
        try LossCurve.write(records: display.history(), to: base + ".loss.svg")

        switch outcome {
        case .interrupted(let step):
            Terminal.status("Interrupted at step \(step); checkpoint \(checkpointPath). Continue with the same command and --resume.")
            return
        case .timeLimit(let step):
            Terminal.status("Time limit reached at step \(step); checkpoint \(checkpointPath). Continue with --resume (and a new --time).")
        case .finished:
            break
        }
        try export(model: model, vocabulary: vocabulary)
        var validationText = validationBytes
        if validationText.last == UInt8(ascii: "\n") { validationText.removeLast() }
        guard
            let (validationLoss, validationPerplexity) = model.validationMetrics(tokens(validationText), context: context, batchSize: batch)
        else { throw ValidationError("the validation text is shorter than one context window (\(context) tokens)") }
        let samplePrompt = prompt ?? firstLine(of: validationBytes)
        let sample = sampleTokens > 0 ? model.greedyContinuation(of: tokens(Array(samplePrompt.utf8)), count: sampleTokens) : []
        let sampleText = String(decoding: sample.flatMap { vocabulary.tokens[Int($0)] }, as: UTF8.self)
        let summary = TrainingSummary(
            steps: trainer.progress.step, trainLoss: display.lastLoss, validationLoss: validationLoss,
            validationPerplexity: validationPerplexity, tokensPerSecond: display.meanTokensPerSecond(),
            seconds: trainer.progress.elapsedSeconds,
            peakResidentBytes: Terminal.peakResidentBytes(), model: out, sample: sampleText)
        Terminal.status(
            "Done: \(summary.steps) steps in \(TrainingDisplay.duration(summary.seconds)); validation loss \(Format.fixed(validationLoss, 4)) "
                + "(every window, all positions); validation perplexity \(Format.fixed(validationPerplexity, 4)) by llama.cpp's rule (-c \(context))"
        )
        Terminal.status(
            "Wrote \(out) (\(quantize))\(format == "safetensors" ? ", \(base)-hf/" : ""), \(base).metrics.jsonl, \(base).loss.svg")
        if sampleTokens > 0 { Terminal.status("Sample (greedy) after \(Format.printable(samplePrompt)):\n\(samplePrompt)\(sampleText)") }
        if json { Terminal.write(try summary.jsonLine() + "\n") }
    }

    func export(model: LlamaGPT, vocabulary: BytePairVocabulary) throws {
        let weights = model.namedWeights()
        try GGUFExport.write(
            hyperparameters: model.hyperparameters, weights: weights, tokenizer: vocabulary,
            quantization: ExportQuantization(rawValue: quantize)!,
            to: out)
        if format == "safetensors" {
            try SafetensorsExport.write(hyperparameters: model.hyperparameters, weights: weights, tokenizer: vocabulary, to: base + "-hf")
        }
    }

    func writeValidationText(_ bytes: [UInt8]) throws {
        let path = base + ".valid.txt"
        guard let file = fopen(path, "wb") else { throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))") }
        defer { fclose(file) }
        let written = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        guard written == bytes.count else { throw ValidationError("cannot write \(path): \(String(cString: strerror(errno)))") }
    }

    func firstLine(of bytes: [UInt8]) -> String {
        let line = bytes.prefix(while: { $0 != UInt8(ascii: "\n") }).prefix(context / 2)
        return String(decoding: line, as: UTF8.self) + (line.count < context / 2 ? "\n" : "")
    }
}
