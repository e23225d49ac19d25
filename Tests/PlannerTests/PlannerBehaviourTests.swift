import GGUF
import ModelStore
import Testing

@testable import Planner

/// Each documented error of another calculator (planning notes §7) as a case the planner gets right.
@Suite struct KnownCalculatorErrors {
    /// gpu_poor ignores GQA: Llama-3-8B at 8192 tokens is 1024 MiB of f16 KV, not 8192 MiB.
    @Test func gqaShrinksTheKVCache() throws {
        let m = try shape("Llama 3 8B")
        let kv = Double(KVCacheModel.bytes(shape: m, settings: InferenceSettings(contextLength: 8192), engine: .llamaCpp)) / MiB
        #expect(kv == 1024)
        // gpu_poor (HF mode): 2·ctx·2·2·h·L bytes, h instead of n_kv·d_h and doubled.
        let gpuPoor = 2.0 * 8192 * 2 * 2 * 4096 * 32 / MiB
        #expect(gpuPoor == 8 * kv)
    }

    /// accelerate's "Training using Adam" is 4 × the size in the chosen dtype: 8 B/param at fp16.
    /// Mixed-precision Adam is 16 B/param.
    @Test func mixedPrecisionAdamIs16BytesPerParameter() throws {
        let m = try shape("Llama 2 7B")
        let t = TrainingMemory.estimate(shape: m, settings: TrainingSettings(method: .full, sequenceLength: 1))
        let states = Double(t.weights + t.gradients + t.optimizer) / Double(m.parameterCount)
        #expect(states == 16)
    }

    /// llmfit: flat η = 0.55 and no t0 gives 34.5 t/s for Llama-3-8B F16 on a 4090, 37 % below the
    /// measured 54.84; the planner must be closer.
    @Test func flatEfficiencyIsWorseThanBandwidthPlusOverhead() throws {
        let m = try shape("Llama 3 8B")
        let plan = InferencePlan.make(
            shape: m, inventory: WeightInventory(shape: m, mix: .f16), settings: InferenceSettings(contextLength: 512),
            engine: .llamaCpp, hardware: HardwareTarget.desktop(with: try Catalog.gpu(named: "RTX 4090")))
        let llmfit = 1008.0 / 16.06 * 0.55
        #expect(relativeError(plan.decode.expected, 54.84) < relativeError(llmfit, 54.84))
    }

    /// whichllm's efficiency table is inverted (F16 0.40, Q4_K_M 0.55 of bandwidth): measured
    /// llama.cpp decode on a 4090 gives F16/Q4_K_M = 54.84/130.58 = 0.42 for Llama-3-8B (V9).
    /// Bytes over bandwidth plus a fixed overhead must get that ratio closer than whichllm does.
    @Test func efficiencyIsNotPerQuantization() throws {
        let m = try shape("Llama 3 8B")
        let hardware = HardwareTarget.desktop(with: try Catalog.gpu(named: "RTX 4090"))
        func speed(_ mix: QuantMix) -> Double {
            InferencePlan.make(
                shape: m, inventory: WeightInventory(shape: m, mix: mix), settings: InferenceSettings(contextLength: 512),
                engine: .llamaCpp, hardware: hardware
            ).decode.expected
        }
        let measured = 54.84 / 130.58
        let ours = speed(.f16) / speed(.q4_K_M)
        let f16Bytes = Double(WeightInventory(shape: m, mix: .f16).totalBytes),
            q4Bytes = Double(WeightInventory(shape: m, mix: .q4_K_M).totalBytes)
        let whichllm = (0.40 / f16Bytes) / (0.55 / q4Bytes)
        #expect(relativeError(ours, measured) < relativeError(whichllm, measured))
    }

    /// Ollama: q8_0/q4_0 KV at 1.0/0.5 bytes per element (6 %/11 % low).
    @Test func quantizedKVBytes() {
        #expect(KVType.q8_0.bytesPerElement == 1.0625)
        #expect(KVType.q4_0.bytesPerElement == 0.5625)
    }

    /// hf-mem drops sliding-window layers: Gemma 3's local layers hold window + batch cells, and
    /// they count.
    @Test func slidingWindowLayersAreCounted() throws {
        let m = try shape("Gemma 3 12B")
        let s = InferenceSettings(contextLength: 32768)
        let local = (0..<m.layers).filter { !m.isGlobalLayer($0) }
        #expect(local.count == m.layers - m.layers / 6)
        let localBytes = local.reduce(Int64(0)) { $0 + KVCacheModel.layerBytes($1, shape: m, settings: s, engine: .llamaCpp) }
        #expect(localBytes > 0)
        // …and far less than if they were global.
        #expect(localBytes * 10 < Int64(local.count) * 2 * Int64(m.kvWidth) * 32768 * 2)
    }

    /// gguf-parser-go picked different layers than llama.cpp for `-ngl N`: llama.cpp offloads the
    /// output layer first, and the token table never.
    @Test func nglOffloadsTheOutputLayerFirst() throws {
        let m = try shape("Llama 2 7B")
        let w = WeightInventory(shape: m, mix: .q4_K_M)
        let hardware = HardwareTarget.desktop(with: try Catalog.gpu(named: "RTX 3090"))
        let one = InferencePlan.make(
            shape: m, inventory: w, settings: InferenceSettings(contextLength: 2048), engine: .llamaCpp, hardware: hardware, gpuLayers: 1)
        #expect(one.gpu.weights == w.outputBytes)
        #expect(one.gpu.kvCache == 0)
        let all = InferencePlan.make(
            shape: m, inventory: w, settings: InferenceSettings(contextLength: 2048), engine: .llamaCpp, hardware: hardware, gpuLayers: 33)
        #expect(all.gpu.weights == w.totalBytes - w.tokenEmbeddingBytes)
        #expect(all.host.weights == w.tokenEmbeddingBytes + w.overheadBytes)
    }

    /// llama.cpp `--fit` overshoots VRAM when it picks a context (llama.cpp#18097): the longest
    /// context the planner reports must fit, and 256 more must not.
    @Test func maxContextIsTight() throws {
        let m = try shape("Llama 3.1 8B")
        let w = WeightInventory(shape: m, mix: .q4_K_M)
        let hardware = HardwareTarget.desktop(with: try Catalog.gpu(named: "RTX 4060"))
        let base = InferenceSettings(contextLength: 2048)
        let ctx = try #require(ReverseQueries.maxContext(shape: m, inventory: w, base: base, engine: .llamaCpp, hardware: hardware))
        func plan(_ c: Int) -> InferencePlan {
            var s = base
            s.contextLength = c
            return InferencePlan.make(shape: m, inventory: w, settings: s, engine: .llamaCpp, hardware: hardware)
        }
        #expect(plan(ctx).verdict == .fitsGPU && plan(ctx).gpu.total <= hardware.gpuBudgetBytes)
        #expect(plan(ctx + 256).verdict != .fitsGPU)
    }

    /// canitrun's flat 0.5 B/param at 4 bits: Llama-3.1-8B Q4_K_M is 4.58 GiB, not 3.74 GiB.
    @Test func namedMixesAreNotFlatBitsPerWeight() throws {
        let w = WeightInventory(shape: try shape("Llama 3.1 8B"), mix: .q4_K_M)
        let flat = 0.5 * Double(w.parameterCount) / GiB
        #expect(relativeError(flat, Double(w.totalBytes) / GiB) > 0.15)
    }
}

@Suite struct PlannerDecisions {
    /// Partial offload when the weights exceed the card but not card + RAM; the layer count is the
    /// largest that fits.
    @Test func partialOffloadPicksTheMostLayersThatFit() throws {
        let m = try shape("Llama 3.1 70B")
        let w = WeightInventory(shape: m, mix: .q4_K_M)
        let hardware = HardwareTarget(gpu: try Catalog.gpu(named: "RTX 4090"), ramBytes: 64 << 30, cpuBandwidth: 80e9, cpuThreads: 16)
        let s = InferenceSettings(contextLength: 4096)
        let plan = InferencePlan.make(shape: m, inventory: w, settings: s, engine: .llamaCpp, hardware: hardware)
        #expect(plan.verdict == .partialOffload)
        #expect(plan.gpu.total <= hardware.gpuBudgetBytes)
        let oneMore = InferencePlan.make(
            shape: m, inventory: w, settings: s, engine: .llamaCpp, hardware: hardware, gpuLayers: plan.gpuLayers + 1)
        #expect(oneMore.gpu.total > hardware.gpuBudgetBytes)
        // Split-time speed: slower than all-GPU, faster than all-CPU.
        let cpu = InferencePlan.make(shape: m, inventory: w, settings: s, engine: .llamaCpp, hardware: hardware, gpuLayers: 0)
        #expect(plan.decode.expected > cpu.decode.expected)
    }

    @Test func doesNotFitAnywhere() throws {
        let m = try shape("BLOOM 176B")
        let hardware = HardwareTarget(gpu: try Catalog.gpu(named: "RTX 4070 Ti"), ramBytes: 32 << 30, cpuBandwidth: 80e9, cpuThreads: 8)
        let plan = InferencePlan.make(
            shape: m, inventory: WeightInventory(shape: m, mix: .q4_K_M), settings: InferenceSettings(contextLength: 2048),
            engine: .llamaCpp, hardware: hardware)
        #expect(plan.verdict == .doesNotFit)
        #expect(
            ReverseQueries.bestQuant(shape: m, settings: InferenceSettings(contextLength: 2048), engine: .llamaCpp, hardware: hardware)
                == nil)
    }

    /// The best quantization for a 7B on an 8 GiB card is below F16 and the plan at that mix fits.
    @Test func bestQuantFor7BOn8GB() throws {
        let m = try shape("Mistral 7B v0.1")
        let hardware = HardwareTarget.desktop(with: try Catalog.gpu(named: "RTX 4060"))
        let best = try #require(
            ReverseQueries.bestQuant(shape: m, settings: InferenceSettings(contextLength: 4096), engine: .llamaCpp, hardware: hardware))
        #expect(best.plan.verdict == .fitsGPU)
        #expect(best.mix == .q6_K || best.mix == .q5_K_M)
    }

    @Test func whichGPUListsOnlyCardsThatHoldIt() throws {
        let m = try shape("Llama 2 13B")
        let w = WeightInventory(shape: m, mix: .q4_K_M)
        let gpus = ReverseQueries.whichGPU(shape: m, inventory: w, settings: InferenceSettings(contextLength: 4096))
        #expect(!gpus.isEmpty)
        #expect(gpus.allSatisfy { $0.plan.verdict == .fitsGPU })
        #expect(!gpus.contains { $0.gpu.memoryGiB <= 8 })
    }
}

@Suite struct CatalogIntegrity {
    @Test func everyEntryHasASource() {
        #expect(Catalog.gpus.count >= 20)
        #expect(Catalog.models.count >= 30)
        for g in Catalog.gpus { #expect(g.sources.contains { $0.hasPrefix("http") }, "\(g.name)") }
        for m in Catalog.models { #expect(m.sources.contains { $0.hasPrefix("http") }, "\(m.name)") }
    }

    /// The hyperparameters reproduce each model's published parameter count.
    @Test func shapesReproducePublishedParameterCounts() {
        for model in Catalog.models {
            guard let shape = model.shape else { continue }
            var count = Double(shape.parameterCount)
            if shape.isEncoder {
                // BERT's token-type table and pooler are outside the planner's tensor list.
                count += Double(2 * shape.embeddingLength + shape.embeddingLength * shape.embeddingLength + shape.embeddingLength)
            }
            #expect(relativeError(count, model.parameters) < 0.02, "\(model.name): \(count) vs \(model.parameters)")
        }
    }

    @Test func lookupIsForgivingButNotAmbiguous() throws {
        #expect(try Catalog.gpu(named: "rtx 4070 ti").name == "GeForce RTX 4070 Ti")
        #expect(try Catalog.gpu(named: "RTX 4070 Ti Super").name == "GeForce RTX 4070 Ti SUPER")
        #expect(try Catalog.model(named: "llama-3.1-8b").name == "Llama 3.1 8B")
        #expect(throws: CatalogError.self) { try Catalog.gpu(named: "Voodoo 5") }
    }
}

/// The quantizer replay against the real files this project runs.
@Suite(.tags(.model)) struct RealFiles {
    static let store = ModelStore()

    /// Gemma 3 270M Q4_K_M: the planner's per-tensor types equal the file's, tensor by tensor
    /// (including the fallbacks for 640-wide rows that 256 does not divide).
    @Test func replayOfQ4KMMatchesTheGemmaFile() throws {
        let path = try Self.store.resolve("gemma3-270m")
        let file = try GGUFFile(path: path)
        let shape = try ModelShape(file: file)
        let real = WeightInventory(file: file)
        let replay = WeightInventory(shape: shape, mix: .q4_K_M)
        let realTypes = Dictionary(uniqueKeysWithValues: real.entries.map { ($0.name, $0.typeName) })
        for entry in replay.entries {
            #expect(
                realTypes[entry.name] == entry.typeName,
                "\(entry.name): file \(realTypes[entry.name] ?? "absent"), replay \(entry.typeName)")
        }
        #expect(replay.totalBytes == real.totalBytes)
        #expect(replay.entries.count == real.entries.count)
    }

    @Test func smolLM2ShapeFromTheFile() throws {
        let file = try GGUFFile(path: try Self.store.resolve("smollm2-135m"))
        let shape = try ModelShape(file: file)
        let catalog = try #require(try Catalog.model(named: "SmolLM2 135M").shape)
        #expect(shape.layers == catalog.layers && shape.kvHeads == catalog.kvHeads && shape.vocabularySize == catalog.vocabularySize)
        #expect(shape.parameterCount == WeightInventory(file: file).parameterCount)
        // V17: llama.cpp maps 92.10 MiB of weights.
        #expect(abs(Double(WeightInventory(file: file).totalBytes) / MiB - 92.10) < 0.01)
    }
}
