import ArgumentParser
import Hardware
import ModelInspection
import Planner

#if canImport(Glibc)
import Glibc
#endif

/// The shape of a model `atelier train gpt` would train, as `fit` takes it (the same names and
/// defaults as `train gpt`; context, batch, threads and gradient checkpointing are `fit`'s own
/// `--context`/`--seq`, `--batch`, `--threads` and `--grad-checkpoint`/`--checkpointing`).
struct ScratchShapeOptions: ParsableArguments {
    @Option(help: "Decoder blocks (train gpt's default 4).") var layers: Int?
    @Option(help: "Attention heads (default 4).") var heads: Int?
    @Option(name: .customLong("kv-heads"), help: "Key/value heads (default: --heads).") var kvHeads: Int?
    @Option(help: "Model width (default 128).") var dim: Int?
    @Option(help: "Feed-forward width (default: 8·dim/3 rounded up to a multiple of 16).") var ffn: Int?
    @Option(help: "Vocabulary: 256 = bytes, larger = a byte-level BPE (default 256).") var vocab: Int?
    @Option(
        parsing: .upToNextOption,
        help: "Training text: files, or the built-in data set shakespeare (the default); only their sizes are read.")
    var data: [String] = []

    var isGiven: Bool { [layers, heads, kvHeads, dim, ffn, vocab].contains { $0 != nil } || !data.isEmpty }

    func validate() throws {
        let values: [(String, Int?)] = [
            ("--layers", layers), ("--heads", heads), ("--kv-heads", kvHeads), ("--dim", dim), ("--ffn", ffn), ("--vocab", vocab),
        ]
        for (name, value) in values {
            if let value, value < 1 { throw ValidationError("\(name) \(value): expected a positive number") }
        }
        if let vocab, vocab < 256 { throw ValidationError("--vocab \(vocab): expected 256 (bytes) or more") }
        let (width, headCount) = (dim ?? 128, heads ?? 4)
        guard width % headCount == 0, (width / headCount) % 2 == 0 else {
            throw ValidationError("--dim \(width) / --heads \(headCount): expected an even head width (dim = heads × head width)")
        }
        if let kvHeads, headCount % kvHeads != 0 {
            throw ValidationError("--heads \(headCount) is not a multiple of --kv-heads \(kvHeads)")
        }
    }

    /// Bytes of the training text: the built-in data set's known size, or the files' sizes (plus the
    /// newline the trainer puts between files).
    func corpus() throws -> (bytes: Int64, name: String) {
        if data.isEmpty || data == ["shakespeare"] { return (ScratchTrainingConfiguration.shakespeareBytes, "shakespeare") }
        var total: Int64 = 0
        for path in data {
            var status = stat()
            guard stat(path, &status) == 0 else {
                throw ValidationError("--data \(path): \(String(cString: strerror(errno))) (expected a text file, or shakespeare)")
            }
            guard status.st_mode & S_IFMT == S_IFREG else { throw ValidationError("--data \(path): not a regular file") }
            total += Int64(status.st_size)
        }
        return (total + Int64(data.count - 1), data.joined(separator: ", "))
    }
}

extension Fit {
    /// `fit --train full` without a MODEL: the peak memory of training that shape from scratch with
    /// `atelier train gpt`, against this machine's tightest memory limit (or `--ram`, or the
    /// `--gpu` desktop's RAM: the trainer runs on the CPU).
    func planFromScratch() throws {
        if let train, train != TrainingSettings.Method.full.rawValue {
            throw ValidationError("--train \(train) needs a MODEL to adapt; from scratch, only --train full")
        }
        let s = scratch
        let corpus = try s.corpus()
        let configuration = ScratchTrainingConfiguration(
            vocabularySize: s.vocab ?? 256, width: s.dim ?? 128, layers: s.layers ?? 4, heads: s.heads ?? 4, kvHeads: s.kvHeads,
            ffnWidth: s.ffn, contextLength: seq ?? 64, batchSize: batch ?? 12, gradientCheckpointing: checkpointing,
            threads: threads ?? max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))), corpusBytes: corpus.bytes)
        let plan = FromScratchTrainingMemory.estimate(configuration)
        let budget = try scratchBudget()
        let fits = plan.peak <= budget.bytes
        if json {
            struct Report: Encodable {
                var command = "train gpt"
                var plan: ScratchTrainingPlan
                var peak: Int64
                var trainingPeak: Int64
                var budget: Int64
                var budgetSource: String
                var fits: Bool
            }
            print(
                try JSONText.encode(
                    Report(
                        plan: plan, peak: plan.peak, trainingPeak: plan.trainingPeak, budget: budget.bytes, budgetSource: budget.source,
                        fits: fits)))
            return
        }
        let c = configuration
        print(
            "From scratch (atelier train gpt): \(Format.grouped(plan.parameters)) parameters — vocabulary \(c.vocabularySize), width \(c.width), "
                + "\(c.layers) layers, \(c.heads) heads (\(c.kvHeads) key/value), feed-forward \(c.ffnWidth)")
        print(
            "Settings: context \(c.contextLength), batch \(c.batchSize), AdamW, f32, \(c.threads) threads"
                + (c.gradientCheckpointing ? ", gradient checkpointing" : ""))
        print("Data: \(corpus.name), \(Format.grouped(c.corpusBytes)) bytes, ~\(Format.grouped(Int64(c.tokens))) tokens")
        print("")
        for (name, bytes) in plan.components { print(name.padding(24) + Format.bytes(bytes).leftPadding(12)) }
        if plan.tokenizerTrainingPeak > 0 {
            print("BPE training (before)".padding(24) + Format.bytes(plan.tokenizerTrainingPeak).leftPadding(12) + "  (its own peak)")
        }
        print("peak".padding(24) + Format.bytes(plan.peak).leftPadding(12))
        print("budget".padding(24) + Format.bytes(budget.bytes).leftPadding(12) + "  (\(budget.source))")
        print("")
        print("Verdict: \(fits ? "fits" : "does not fit")")
        if !fits && !c.gradientCheckpointing {
            var with = c
            with.gradientCheckpointing = true
            let smaller = FromScratchTrainingMemory.estimate(with).peak
            print("with --grad-checkpoint: \(Format.bytes(smaller))\(smaller <= budget.bytes ? " (fits)" : "")")
        }
    }

    /// `--ram`, the `--gpu` desktop's RAM, or what this process may still allocate.
    func scratchBudget() throws -> (bytes: Int64, source: String) {
        if let ram { return (Int64(ram * 1_073_741_824), "--ram") }
        if gpu != nil {
            let desktop = try target()
            return (desktop.ramBytes, "RAM of the \(desktop.label)")
        }
        guard let limit = MemoryLimits.current().tightest else { return (8 << 30, "assumed: no memory limit could be read") }
        return (limit.remainingBytes, limit.name)
    }
}

extension ScratchTrainingPlan {
    /// The peak's parts, as `fit` and `train gpt` print them.
    var components: [(name: String, bytes: Int64)] {
        [
            ("weights", weights), ("gradients", gradients), ("AdamW moments", optimizerMoments), ("activations", activations),
            ("logits", logits), ("backward scratch", backwardScratch), ("evaluation", evaluation), ("checkpoint write", checkpointWrite),
            ("training data", trainingData), ("process", process),
        ]
    }

    /// "weights 3.19 MiB, gradients 3.44 MiB, …" for one line.
    var componentSummary: String {
        components.map { "\($0.name) \(Format.bytes($0.bytes))" }.joined(separator: ", ")
    }
}
