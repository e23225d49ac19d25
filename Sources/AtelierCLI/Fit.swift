import ArgumentParser
import Compute
import GGUF
import Hardware
import ModelInspection
import ModelStore
import Planner
import Threading

#if canImport(Glibc)
import Glibc
#endif

/// `atelier fit`: will this model and task fit this machine (or a named GPU), where does the
/// memory go, how fast will it run, and what would fit instead.
struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Plan memory and speed: will a model fit this machine or a GPU, for inference or training?",
        discussion: """
            MODEL is a .gguf file (exact, per tensor), a Hugging Face model directory (config.json + safetensors \
            headers, exact), a catalog model ("Llama 3.1 8B"; --list-models), or a stored model name. Without MODEL \
            and with --gpu, prints which catalog models fit that GPU for each task. Sizes are in GiB (2^30 bytes) \
            unless marked GB (10^9).
            """)

    @Argument(help: "Model: .gguf path, HF directory, catalog name, or stored name.")
    var model: String?

    @Option(help: "Plan for a catalog GPU instead of this machine (e.g. \"RTX 4070 Ti\"; --list-gpus).")
    var gpu: String?
    @Option(help: "VRAM to plan with, GiB (default: the GPU's size, or free VRAM on this machine).")
    var vram: Double?
    @Option(help: "RAM available to the model, GiB (default: this machine's available RAM, or 32 with --gpu).")
    var ram: Double?
    @Option(name: [.short, .customLong("threads")], help: "CPU threads (default: this machine's).")
    var threads: Int?
    @Option(name: .customLong("engine"), help: "atelier or llama.cpp (default: llama.cpp when planning for a GPU, atelier on CPU).")
    var engineName: String?

    @Option(name: [.short, .customLong("ctx")], help: "Context length (default: 4096, at most the model's).")
    var contextLength: Int?
    @Option(
        name: [.customShort("b"), .customLong("batch")],
        help: "Tokens per forward pass (n_ubatch, default 512); for a from-scratch plan, sequences per step (default 12).")
    var batch: Int?
    @Option(name: .customLong("kv-type"), help: "KV cache type: f16, q8_0, q4_0, f32.")
    var kvType: String = "f16"
    @Flag(name: .customLong("flash-attn"), help: "Flash attention (smaller compute buffer; needed for a quantized V cache).")
    var flashAttention = false
    @Option(name: .customLong("parallel"), help: "Parallel sequences sharing the context.")
    var parallel: Int = 1
    @Option(
        help:
            "Quantization to plan for a catalog model (default Q4_K_M) or an HF directory (default: as stored): \(QuantMix.allCases.map(\.rawValue).joined(separator: ", "))."
    )
    var quant: String?
    @Option(name: .customLong("ngl"), help: "Layers on the GPU (llama.cpp -ngl; default: as many as fit).")
    var gpuLayers: Int?

    @Option(help: "Plan training instead: full, lora or qlora.")
    var train: String?
    @Option(
        name: [.customLong("seq"), .customLong("context")],
        help: "Training sequence length (default 2048; 64 for a from-scratch plan).")
    var seq: Int?
    @Option(name: .customLong("micro-batch"), help: "Training micro-batch.")
    var microBatch: Int = 1
    @Option(help: "LoRA rank.")
    var rank: Int = 16
    @Option(help: "LoRA target matrices, comma-separated (q,k,v,o,gate,up,down).")
    var targets: String = "q,k,v,o,gate,up,down"
    @Option(help: "Optimizer: adamw, adamw8bit, sgd.")
    var optimizer: String = "adamw"
    @Flag(name: [.customLong("checkpointing"), .customLong("grad-checkpoint")], help: "Gradient checkpointing.")
    var checkpointing = false

    @OptionGroup(title: "From-scratch training (atelier train gpt; no MODEL)")
    var scratch: ScratchShapeOptions

    @Flag(name: .customLong("max-context"), help: "Report the longest context that fits.")
    var maxContext = false
    @Flag(name: .customLong("best-quant"), help: "Report the best quantization that fits.")
    var bestQuant = false
    @Flag(name: .customLong("which-gpu"), help: "Compare every catalog GPU: fits or layers offloaded, decode speed, price.")
    var whichGPU = false
    @Flag(name: .customLong("list-gpus"), help: "List the GPU catalog.")
    var listGPUs = false
    @Flag(name: .customLong("list-models"), help: "List the model catalog.")
    var listModels = false
    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        guard batch ?? 1 >= 1, parallel >= 1, seq ?? 1 >= 1, microBatch >= 1, rank >= 1 else {
            throw ValidationError("--batch, --parallel, --seq, --micro-batch and --rank must be ≥ 1")
        }
        if let c = contextLength, c < 1 { throw ValidationError("--ctx \(c); expected ≥ 1") }
        guard KVType(rawValue: kvType) != nil else { throw ValidationError("--kv-type \(kvType); expected f16, q8_0, q4_0 or f32") }
        if let quant, QuantMix(name: quant) == nil {
            throw ValidationError("--quant \(quant); expected one of \(QuantMix.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if model != nil && scratch.isGiven {
            throw ValidationError(
                "--layers, --heads, --kv-heads, --dim, --ffn, --vocab and --data describe a model trained from scratch; give them without MODEL"
            )
        }
        if let train, TrainingSettings.Method(rawValue: train) == nil {
            throw ValidationError("--train \(train); expected full, lora or qlora")
        }
        if let engineName, Engine(rawValue: engineName) == nil {
            throw ValidationError("--engine \(engineName); expected atelier or llama.cpp")
        }
        guard TrainingSettings.Optimizer(rawValue: optimizer) != nil else {
            throw ValidationError("--optimizer \(optimizer); expected adamw, adamw8bit or sgd")
        }
    }

    func run() throws {
        if listGPUs { return try printGPUs() }
        if listModels { return try printModels() }
        if model == nil && scratch.isGiven { return try planFromScratch() }
        let hardware = try target()
        guard let model else {
            guard gpu != nil else { throw ValidationError("give a MODEL, or --gpu NAME for the overview of what fits that GPU") }
            let overview = Overview.make(hardware: hardware, contextLength: contextLength ?? 4096)
            if json { print(try JSONText.encode(overview)) } else { print(overview.text) }
            return
        }
        let subject = try ModelSubject.resolve(model, quant: quant.flatMap(QuantMix.init(name:)))
        if let train {
            try planTraining(subject, method: TrainingSettings.Method(rawValue: train)!, hardware: hardware)
            return
        }
        try planInference(subject, hardware: hardware)
    }

    // MARK: - Hardware

    func target() throws -> HardwareTarget {
        let store = ModelStore()
        if let gpu {
            let spec = try Catalog.gpu(named: gpu)
            var t = HardwareTarget.desktop(with: spec)
            if let vram { t.gpuBudgetBytes = Int64(vram * 1_073_741_824) }
            if let ram { t.ramBytes = Int64(ram * 1_073_741_824) }
            if let threads { t.cpuThreads = threads }
            t.freeDiskBytes = Machine.probe(modelStore: store.root).freeDiskBytes
            return t
        }
        let machine = Machine.probe(modelStore: store.root)
        let threadCount = threads ?? machine.cpu.logicalCores
        // The roofline this process sees, measured now (128 MiB streamed 3 times, ~0.2 s).
        let pool = ThreadPool(threads: threadCount)
        let bandwidth = MemoryBandwidth.measureRead(pool: pool, bytes: 128 << 20, repetitions: 3)
        let available = ram.map { Int64($0 * 1_073_741_824) } ?? machine.memory?.availableBytes ?? (8 << 30)
        var spec: GPUSpec?
        var budget: Int64?
        if let probed = machine.gpu.gpus.first {
            // A probed GPU: the catalog entry when it has one (for TFLOPS), the measured VRAM always.
            var s =
                (try? Catalog.gpu(named: probed.name))
                ?? GPUSpec(
                    name: probed.name, aliases: [], vendor: "nvidia", memoryGiB: Double(probed.totalBytes) / 1_073_741_824,
                    bandwidthGBps: (probed.memoryBandwidthBytesPerSecond ?? 500e9) / 1e9, sources: ["NVML"])
            s.memoryGiB = Double(probed.totalBytes) / 1_073_741_824
            spec = s
            budget = vram.map { Int64($0 * 1_073_741_824) } ?? probed.freeBytes
        }
        return HardwareTarget(
            gpu: spec, gpuBudgetBytes: budget, ramBytes: available, cpuBandwidth: bandwidth,
            cpuThreads: threadCount, freeDiskBytes: machine.freeDiskBytes,
            label: spec.map { "this machine: \($0.name)" } ?? "this machine: \(machine.cpu.model), \(threadCount) threads")
    }

    var engine: Engine? { engineName.flatMap(Engine.init(rawValue:)) }

    // MARK: - Inference

    func planInference(_ subject: ModelSubject, hardware: HardwareTarget) throws {
        let engine = self.engine ?? (hardware.gpu != nil ? .llamaCpp : .atelier)
        let ctx = min(contextLength ?? 4096, subject.shape.contextLength)
        if let asked = contextLength, asked > ctx {
            print("note: \(subject.shape.name) was trained for \(subject.shape.contextLength) tokens; planning that instead of \(asked)")
        }
        let settings = InferenceSettings(
            contextLength: ctx, batch: batch ?? 512, kvType: KVType(rawValue: kvType)!,
            flashAttention: flashAttention, parallel: parallel)
        let plan = InferencePlan.make(
            shape: subject.shape, inventory: subject.inventory, settings: settings, engine: engine,
            hardware: hardware, gpuLayers: gpuLayers)
        var report = InferenceReport(plan: plan, hardware: hardware.label, command: command(for: plan, subject: subject))
        if maxContext || plan.verdict == .doesNotFit || plan.verdict == .partialOffload {
            report.maxContext = ReverseQueries.maxContext(
                shape: subject.shape, inventory: subject.inventory, base: settings, engine: engine, hardware: hardware)
        }
        if (bestQuant || plan.verdict != .fitsGPU && hardware.gpu != nil) && subject.canRequantize,
            let best = ReverseQueries.bestQuant(shape: subject.shape, settings: settings, engine: engine, hardware: hardware)
        {
            report.bestQuant = best.mix.rawValue
            report.bestQuantBytes = best.plan.downloadBytes
        }
        if whichGPU || plan.verdict == .doesNotFit {
            // Asked: every catalog GPU; implied by "does not fit": the three cheapest that hold it.
            report.gpus = GPUComparison.make(
                shape: subject.shape, inventory: subject.inventory, settings: settings, onlyWhole: !whichGPU, limit: whichGPU ? nil : 3)
        }
        if let free = hardware.freeDiskBytes { report.diskFreeBytes = free }
        if json { print(try JSONText.encode(report)); return }
        print(report.text(subject: subject))
    }

    func command(for plan: InferencePlan, subject: ModelSubject) -> String {
        let file = subject.path ?? "MODEL.gguf"
        let kv = plan.settings.kvType == .f16 ? "" : " -ctk \(plan.settings.kvType.rawValue) -ctv \(plan.settings.kvType.rawValue)"
        switch plan.engine {
        case .atelier:
            return
                "atelier run \(subject.path ?? "MODEL") -c \(plan.settings.contextLength) -t \(threads ?? 0 > 0 ? threads! : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))"
        case .llamaCpp:
            return "llama-server -m \(file) -c \(plan.settings.contextLength) -ngl \(plan.gpuLayers) -ub \(plan.settings.batch)"
                + (plan.settings.flashAttention ? " -fa on" : "") + kv
                + (plan.settings.parallel > 1 ? " -np \(plan.settings.parallel)" : "")
        }
    }

    // MARK: - Training

    var fineTuneSequence: Int { seq ?? 2048 }

    func planTraining(_ subject: ModelSubject, method: TrainingSettings.Method, hardware: HardwareTarget) throws {
        let settings = TrainingSettings(
            method: method, sequenceLength: fineTuneSequence, microBatch: microBatch,
            optimizer: TrainingSettings.Optimizer(rawValue: optimizer)!, loraRank: rank,
            loraTargets: Set(targets.split(separator: ",").map { String($0).trimmingSpaces }),
            gradientCheckpointing: checkpointing, flashAttention: true)
        if hardware.gpu == nil, method != .full, let path = subject.path {
            try planFineTuningHere(path: path, method: method, hardware: hardware)
            return
        }
        let memory = TrainingMemory.estimate(shape: subject.shape, settings: settings)
        let budget = hardware.gpu != nil ? hardware.gpuBudgetBytes : hardware.ramBytes
        let fits = memory.devicePeak <= budget
        if json {
            struct Report: Encodable {
                var model: String; var settings: TrainingSettings; var memory: TrainingMemory; var devicePeak: Int64; var budget: Int64;
                var fits: Bool
            }
            print(
                try JSONText.encode(
                    Report(
                        model: subject.shape.name, settings: settings, memory: memory, devicePeak: memory.devicePeak, budget: budget,
                        fits: fits)))
            return
        }
        let g = { (b: Int64) in Format.gib(b) }
        print(
            """
            Model: \(subject.shape.name) — \(method.rawValue) fine-tune, sequence \(fineTuneSequence) × micro-batch \(microBatch), \(optimizer)\(checkpointing ? ", gradient checkpointing" : "")
            Hardware: \(hardware.label)
            trainable parameters  \(Format.count(memory.trainableParameters))
            weights               \(g(memory.weights))
            gradients             \(g(memory.gradients))
            optimizer state       \(g(memory.optimizer))
            activations           \(g(memory.activations))
            logits                \(g(memory.logits))
            """)
        if memory.dequantizationWorkspace > 0 { print("dequantization        \(g(memory.dequantizationWorkspace))") }
        print(
            """
            CUDA context          \(g(RuntimeOverhead.cudaContextBytes))
            total                 \(g(memory.devicePeak)) of \(g(budget)) → \(fits ? "fits" : "does not fit")
            """)
        if !fits && !checkpointing {
            var s = settings
            s.gradientCheckpointing = true
            let with = TrainingMemory.estimate(shape: subject.shape, settings: s)
            print("with --checkpointing: \(g(with.devicePeak))\(with.devicePeak <= budget ? " (fits)" : "")")
        }
        if !fits && method != .qlora {
            var s = settings
            s.method = .qlora
            let q = TrainingMemory.estimate(shape: subject.shape, settings: s)
            print("as QLoRA (--train qlora): \(g(q.devicePeak))\(q.devicePeak <= budget ? " (fits)" : "")")
        }
    }

    /// LoRA/QLoRA of a GGUF on this machine's CPU: `atelier finetune`'s own plan, the numbers it
    /// prints (and refuses with) before training.
    func planFineTuningHere(path: String, method: TrainingSettings.Method, hardware: HardwareTarget) throws {
        let file = try GGUFFile(path: path)
        let targetList = targets.split(separator: ",").map { String($0).trimmingSpaces }
        let plan = try FineTuneMemoryCheck.plan(
            file: file, rank: rank, targets: targetList, batch: microBatch, context: fineTuneSequence, checkpointing: checkpointing)
        let budget = hardware.ramBytes
        if json {
            struct Report: Encodable {
                var model: String; var engine: String; var plan: FineTuningMemory; var total: Int64; var budget: Int64; var fits: Bool
            }
            print(
                try JSONText.encode(
                    Report(
                        model: path, engine: "atelier finetune (CPU)", plan: plan, total: plan.total, budget: budget,
                        fits: plan.total <= budget)))
            return
        }
        let g = { (b: Int64) in Format.gib(b) }
        print(
            """
            Model: \(path) — \(method.rawValue) fine-tune with atelier finetune on this CPU (the base stays in its GGUF type), \
            sequence \(fineTuneSequence) × batch \(microBatch), rank \(rank) on \(targetList.joined(separator: ","))\(checkpointing ? ", gradient checkpointing" : "")
            Hardware: \(hardware.label)
            trainable parameters  \(Format.count(plan.trainableParameters))
            runtime               \(g(plan.runtime))
            base weights          \(g(plan.weights))
            LoRA + AdamW          \(g(plan.adapters))
            activations           \(g(plan.activations))
            head                  \(g(plan.head))
            total                 \(g(plan.total)) of \(g(budget)) → \(plan.total <= budget ? "fits" : "does not fit")
            command               atelier finetune \(path) --data train.jsonl --context \(fineTuneSequence) --batch \(microBatch) --rank \(rank) \
            --targets \(targetList.joined(separator: ","))\(checkpointing ? " --grad-checkpoint" : "")
            """)
        if !checkpointing {
            let with = try FineTuneMemoryCheck.plan(
                file: file, rank: rank, targets: targetList, batch: microBatch, context: fineTuneSequence, checkpointing: true)
            print("with --grad-checkpoint: \(g(with.total))")
        }
    }

    // MARK: - Catalogs

    func printGPUs() throws {
        if json { print(try JSONText.encode(Catalog.gpus)); return }
        for g in Catalog.gpus {
            let tflops = g.fp16TensorTFLOPS.map { ", \(Format.fixed($0, 1)) FP16 tensor TFLOPS" } ?? ""
            let price = g.priceNewUSD.map { ", $\(Int($0)) (\(g.priceNewDate ?? "?"))" } ?? ""
            print("\(g.name): \(Format.fixed(g.memoryGiB, 0)) GiB, \(Format.fixed(g.bandwidthGBps, 0)) GB/s\(tflops)\(price)")
        }
    }

    func printModels() throws {
        if json { print(try JSONText.encode(Catalog.models)); return }
        for m in Catalog.models {
            print("\(m.name) [\(m.kind)]: \(Format.count(Int64(m.parameters))) parameters")
        }
    }
}

extension String {
    var trimmingSpaces: String {
        String(self.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
    }
}

/// The model being planned and where its numbers come from.
struct ModelSubject {
    var shape: ModelShape
    var inventory: WeightInventory
    /// A file the plan's command can name.
    var path: String?
    /// Catalog and HF models can be planned at any quantization; a GGUF file is what it is.
    var canRequantize: Bool

    static func resolve(_ reference: String, quant: QuantMix?) throws -> ModelSubject {
        var status = stat()
        if stat(reference, &status) == 0, status.st_mode & S_IFMT == S_IFDIR {
            let (shape, inventory) = try HFModelDirectory.load(reference)
            return ModelSubject(
                shape: shape, inventory: quant.map { WeightInventory(shape: shape, mix: $0) } ?? inventory,
                path: reference, canRequantize: true)
        }
        // A file or a stored model is exact; the catalog is for models not downloaded.
        if stat(reference, &status) == 0 || ((try? ModelStore().list()) ?? []).contains(where: { $0.name == reference }) {
            let path = try ModelStore().resolve(reference, pullIfMissing: false)
            let file = try GGUFFile(path: path)
            return ModelSubject(shape: try ModelShape(file: file), inventory: WeightInventory(file: file), path: path, canRequantize: false)
        }
        let catalog = try Catalog.model(named: reference)
        guard let shape = catalog.shape else {
            throw ValidationError(
                "\(catalog.name) is a \(catalog.kind), not a transformer; the planner's CNN and diffusion rules are in docs/PLANNER.md")
        }
        return ModelSubject(shape: shape, inventory: WeightInventory(shape: shape, mix: quant ?? .q4_K_M), path: nil, canRequantize: true)
    }
}
