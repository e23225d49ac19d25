import Testing

@testable import Planner

// The measured validation points V1–V18 of the planning notes, each with its source. Memory must
// land within ±5 % (inference) or ±10 % (training), speed within ±20 %.

let MiB = 1_048_576.0, GiB = 1_073_741_824.0, GB = 1e9

func relativeError(_ predicted: Double, _ measured: Double) -> Double { abs(predicted - measured) / measured }

func shape(_ name: String) throws -> ModelShape { try #require(try Catalog.model(named: name).shape) }

/// A GPU with only the figures a validation point states.
func customGPU(_ name: String, memoryGiB: Double, bandwidthGBps: Double, fp16TFLOPS: Double? = nil) -> GPUSpec {
    GPUSpec(
        name: name, aliases: [], vendor: "nvidia", memoryGiB: memoryGiB, bandwidthGBps: bandwidthGBps,
        fp16TensorTFLOPS: fp16TFLOPS, sources: ["test"])
}

@Suite struct InferenceMemoryValidation {
    /// V1: Llama-2-7B Q4_K_M on an RTX 3090 with llama.cpp, n_ctx 2048: "3.80 GiB (4.84 BPW)",
    /// KV 1024.00 MiB, CUDA compute buffer 164.01 MiB, CPU buffer (token table) 70.31 MiB
    /// (utilityai/llama-cpp-rs README).
    @Test func v1Llama2Q4KMOnA3090() throws {
        let m = try shape("Llama 2 7B")
        let weights = WeightInventory(shape: m, mix: .q4_K_M)
        #expect(relativeError(Double(weights.totalBytes) / GiB, 3.80) < 0.02)
        #expect(abs(weights.bitsPerWeight - 4.84) < 0.05)
        let settings = InferenceSettings(contextLength: 2048)
        #expect(Double(KVCacheModel.bytes(shape: m, settings: settings, engine: .llamaCpp)) == 1024 * MiB)
        #expect(abs(Double(ComputeBufferModel.llamaCppFullOffload(shape: m, settings: settings)) / MiB - 164.01) < 0.1)
        let gpu = try Catalog.gpu(named: "RTX 3090")
        let plan = InferencePlan.make(
            shape: m, inventory: weights, settings: settings, engine: .llamaCpp,
            hardware: HardwareTarget.desktop(with: gpu))
        #expect(plan.verdict == .fitsGPU)
        #expect(plan.gpuLayers == 33)
        // The token table stays on the host: 70.31 MiB.
        #expect(relativeError(Double(weights.tokenEmbeddingBytes) / MiB, 70.31) < 0.01)
        // Device weights 3820.94 MiB (everything but the token table).
        #expect(relativeError(Double(plan.gpu.weights) / MiB, 3820.94) < 0.05)
    }

    /// V2: a 7B with 32 layers and 8 KV heads (Mistral 7B), no flash attention: KV 256 → 4096 MiB
    /// and compute 164 → 2144 MiB from n_ctx 2048 to 32768 (fedora-copr/logdetective#106).
    @Test func v2ComputeBufferGrowsWithContext() throws {
        let m = try shape("Mistral 7B v0.1")
        for (ctx, kv, compute) in [(2048, 256.0, 164.0), (32768, 4096.0, 2144.0)] {
            let s = InferenceSettings(contextLength: ctx)
            #expect(Double(KVCacheModel.bytes(shape: m, settings: s, engine: .llamaCpp)) / MiB == kv)
            #expect(abs(Double(ComputeBufferModel.llamaCppFullOffload(shape: m, settings: s)) / MiB - compute) < 0.5)
        }
    }

    /// V3: Llama 3 8B in Ollama at n_ctx 81920 (10 × 8192), no FA: KV 10240 MiB, compute 5312 MiB
    /// (ollama#9352).
    @Test func v3LongContextOllama() throws {
        let m = try shape("Llama 3 8B")
        let s = InferenceSettings(contextLength: 81920)
        #expect(Double(KVCacheModel.bytes(shape: m, settings: s, engine: .llamaCpp)) / MiB == 10240)
        #expect(abs(Double(ComputeBufferModel.llamaCppFullOffload(shape: m, settings: s)) / MiB - 5312) < 0.5)
    }

    /// V4: Mistral-Small-22B (56 layers, 8 KV heads of 128) at num_ctx 49152 with q8_0 KV: 5712 MiB
    /// (ollama#6160) — q8_0 is 34/32 bytes per element; Ollama's own estimator used 1.0.
    @Test func v4QuantizedKVIs34Over32Bytes() {
        let m = ModelShape(
            name: "Mistral-Small-22B", family: "llama", layers: 56, embeddingLength: 6144, heads: 48, kvHeads: 8,
            headDim: 128, feedForwardLength: 16384, vocabularySize: 32768, contextLength: 32768)
        let s = InferenceSettings(contextLength: 49152, kvType: .q8_0, flashAttention: true)
        let kv = Double(KVCacheModel.bytes(shape: m, settings: s, engine: .llamaCpp)) / MiB
        #expect(kv == 5712)
        let ollamaStyle = 2.0 * 56 * 8 * 128 * 49152 * 1.0 / MiB
        #expect(relativeError(ollamaStyle, 5712) > 0.05, "the known Ollama error must be visible")
    }

    /// V5: Mistral-Small-3.1-24B (40 layers, 8 KV heads of 128) at ctx 4096: KV 640 MiB (ollama#10417).
    @Test func v5KVOfA24B() {
        let m = ModelShape(
            name: "Mistral-Small-3.1-24B", family: "llama", layers: 40, embeddingLength: 5120, heads: 32, kvHeads: 8,
            headDim: 128, feedForwardLength: 32768, vocabularySize: 131072, contextLength: 131072)
        #expect(Double(KVCacheModel.bytes(shape: m, settings: InferenceSettings(contextLength: 4096), engine: .llamaCpp)) / MiB == 640)
    }

    /// V6: Meta-Llama-3-8B in bf16 under vLLM: "model weights take 14.96GiB" (vllm#10511).
    @Test func v6DenseBF16Weights() throws {
        let w = WeightInventory(shape: try shape("Llama 3 8B"), dtype: .bf16)
        #expect(relativeError(Double(w.totalBytes) / GiB, 14.96) < 0.005)
    }

    /// V10: Llama-3.1-8B named mixes, bits per weight from llama.cpp's tools/quantize/README.md:
    /// replaying the quantizer's per-tensor rules must reproduce every mix.
    @Test(arguments: [
        (QuantMix.q2_K, 3.1593), (.q4_K_S, 4.6672), (.q4_K_M, 4.8944), (.q5_K_M, 5.7036),
        (.q6_K, 6.5633), (.q8_0, 8.5008), (.f16, 16.0005),
    ])
    func v10NamedMixesOfLlama31(mix: QuantMix, bitsPerWeight: Double) throws {
        let w = WeightInventory(shape: try shape("Llama 3.1 8B"), mix: mix)
        #expect(relativeError(w.bitsPerWeight, bitsPerWeight) < 0.01, "\(mix.rawValue): \(w.bitsPerWeight) bpw")
    }

    /// V10 sizes: Q4_K_M 4.58 GiB, Q8_0 7.95 GiB, F16 14.96 GiB.
    @Test func v10Sizes() throws {
        let m = try shape("Llama 3.1 8B")
        for (mix, gib) in [(QuantMix.q4_K_M, 4.58), (.q8_0, 7.95), (.f16, 14.96)] {
            #expect(relativeError(Double(WeightInventory(shape: m, mix: mix).totalBytes) / GiB, gib) < 0.01)
        }
    }

    /// V11: Llama 3.1 70B Q4_K_M (32K context: a 3.1 model) on a 48 GB W7900 with flash attention and q8_0 KV: weights 39.59 GiB
    /// (70.55 B params), max context ≈ 32K, KV at 32K 5440 MiB (llm-tracker AMD GPUs page).
    @Test func v11MaxContextOf70BOn48GB() throws {
        let m = try shape("Llama 3.1 70B")
        let w = WeightInventory(shape: m, mix: .q4_K_M)
        #expect(relativeError(Double(w.totalBytes) / GiB, 39.59) < 0.02)
        #expect(relativeError(Double(w.parameterCount), 70.55e9) < 0.005)
        let s = InferenceSettings(contextLength: 32768, kvType: .q8_0, flashAttention: true)
        #expect(Double(KVCacheModel.bytes(shape: m, settings: s, engine: .llamaCpp)) / MiB == 5440)
        let w7900 = customGPU("Radeon PRO W7900", memoryGiB: 48, bandwidthGBps: 864)
        let hardware = HardwareTarget(gpu: w7900, ramBytes: 64 << 30, cpuBandwidth: 80e9, cpuThreads: 16)
        // Measured: 46032 MiB in use at 32K, all layers on the GPU.
        let plan = InferencePlan.make(shape: m, inventory: w, settings: s, engine: .llamaCpp, hardware: hardware)
        #expect(plan.verdict == .fitsGPU)
        #expect(relativeError(Double(plan.gpu.total) / MiB, 46032) < 0.05, "\(Double(plan.gpu.total) / MiB) MiB")
        // 32K fits; the reverse query must not stop short of it, nor promise more than the card holds.
        let ctx = try #require(ReverseQueries.maxContext(shape: m, inventory: w, base: s, engine: .llamaCpp, hardware: hardware))
        #expect(ctx >= 32768 && ctx <= 65536, "max context \(ctx)")
    }

    /// V14: Llama-2-7b-hf in fp16 under transformers: nvidia-smi 13213 MiB on a 3090 = 12.55 GiB of
    /// weights + CUDA context + a small KV (lm-sys/FastChat#2005).
    @Test func v14HFfp16() throws {
        let w = WeightInventory(shape: try shape("Llama 2 7B"), dtype: .f16)
        #expect(relativeError(Double(w.totalBytes) / GiB, 12.55) < 0.01)
        let withContext = Double(w.totalBytes + RuntimeOverhead.cudaContextBytes) / MiB
        #expect(relativeError(withContext, 13213) < 0.05)
    }

    /// V15: bert-base-cased fp32 413.68 MB measured by accelerate (its "MB" are MiB); vocabulary
    /// 28996 (the cased tokenizer).
    @Test func v15BertBaseCased() throws {
        var m = try shape("BERT-base (uncased)")
        m.vocabularySize = 28996
        let bytes = Double(WeightInventory(shape: m, dtype: .f32).totalBytes) / MiB
        // + token-type (2 × 768) and pooler (768² + 768) weights that the planner's transformer
        // tensors do not list.
        let extra = Double(2 * 768 + 768 * 768 + 768) * 4 / MiB
        #expect(relativeError(bytes + extra, 413.68) < 0.01)
    }

    /// V17: llama.cpp CPU on this project's models at -c 2048: SmolLM2 weights 92.10 MiB, KV 45.00 MiB;
    /// Gemma 3 KV 6.00 MiB (3 global layers × 2048 cells) + 15.00 MiB (15 SWA layers × 1024 cells),
    /// compute 514.50 MiB (shared/refs/llamacpp-reference.json).
    @Test func v17LlamaCppCPUBuffers() throws {
        let s = InferenceSettings(contextLength: 2048)
        let smol = try shape("SmolLM2 135M")
        #expect(Double(KVCacheModel.bytes(shape: smol, settings: s, engine: .llamaCpp)) / MiB == 45)
        let gemma = try shape("Gemma 3 270M")
        let global = (0..<gemma.layers).filter { gemma.isGlobalLayer($0) }
        #expect(global.count == 3)
        let kv = (0..<gemma.layers).map { Double(KVCacheModel.layerBytes($0, shape: gemma, settings: s, engine: .llamaCpp)) / MiB }
        #expect(global.map { kv[$0] }.reduce(0, +) == 6)
        #expect(kv.reduce(0, +) - 6 == 15)
        #expect(relativeError(Double(ComputeBufferModel.llamaCppFullOffload(shape: gemma, settings: s)) / MiB, 514.50) < 0.05)
    }
}

@Suite struct TrainingMemoryValidation {
    /// V7: LitGPT on an A100 40GB, bf16-true, Alpaca (longest sample 1304 tokens), LoRA r=8 on
    /// query and value (4.19 M trainable for 7B): Llama-2-7B LoRA micro-batch 1 21.30 GB, 2 29.07 GB;
    /// 13B LoRA 38.12 GB; QLoRA nf4-dq 7B 13.84 GB, 13B 22.55 GB
    /// (Lightning-AI/litgpt tutorials/resource-tables.md). "Max GPU RAM" is the allocator peak.
    @Test(arguments: [
        ("Llama 2 7B", TrainingSettings.Method.lora, 1, 21.30), ("Llama 2 7B", .lora, 2, 29.07),
        ("Llama 2 13B", .lora, 1, 38.12), ("Llama 2 7B", .qlora, 1, 13.84), ("Llama 2 13B", .qlora, 1, 22.55),
    ])
    func v7LitGPT(model: String, method: TrainingSettings.Method, microBatch: Int, measuredGB: Double) throws {
        let m = try shape(model)
        let memory = TrainingMemory.estimate(
            shape: m, settings: TrainingSettings(method: method, sequenceLength: 1304, microBatch: microBatch))
        #expect(
            relativeError(Double(memory.allocatorPeak) / GB, measuredGB) < 0.10,
            "\(model) \(method) mb\(microBatch): \(Double(memory.allocatorPeak) / GB) GB")
    }

    @Test func v7TrainableParametersOfLoRA() throws {
        let memory = TrainingMemory.estimate(shape: try shape("Llama 2 7B"), settings: TrainingSettings(method: .lora, sequenceLength: 512))
        #expect(relativeError(Double(memory.trainableParameters), 4.19e6) < 0.01)
    }

    /// V15: timm resnet50 fp32 97.7 MB, "Adam" 390.78 MB (accelerate; MiB): 16 bytes per parameter
    /// in fp32 Adam training (weights, grads, two moments).
    @Test func v15ResNet50Adam() throws {
        let resnet = try Catalog.model(named: "ResNet-50")
        #expect(relativeError(resnet.parameters * 4 / MiB, 97.7) < 0.01)
        #expect(relativeError(Double(VisionMemory.training(resnet, batch: 0)) / MiB, 390.78) < 0.01)
    }
}

@Suite struct SpeedValidation {
    /// V9: llama-bench decode (tg) on GPUs, llama.cpp (XiongjieDai/GPU-Benchmarks-on-LLM-Inference):
    /// 4090 Llama-3-8B Q4_K_M 130.58 and F16 54.84 t/s, 3090 115.42 and 47.40; Llama-2-7B Q4_0
    /// 4090 149.37, 3090 120.6.
    @Test(arguments: [
        ("RTX 4090", "Llama 3 8B", QuantMix.q4_K_M, 130.58), ("RTX 4090", "Llama 3 8B", .f16, 54.84),
        ("RTX 3090", "Llama 3 8B", .q4_K_M, 115.42), ("RTX 3090", "Llama 3 8B", .f16, 47.40),
        ("RTX 4090", "Llama 2 7B", .q4_0, 149.37), ("RTX 3090", "Llama 2 7B", .q4_0, 120.6),
    ])
    func v9DecodeOnGPUs(gpuName: String, model: String, mix: QuantMix, measured: Double) throws {
        let gpu = try Catalog.gpu(named: gpuName)
        let m = try shape(model)
        let plan = InferencePlan.make(
            shape: m, inventory: WeightInventory(shape: m, mix: mix), settings: InferenceSettings(contextLength: 512),
            engine: .llamaCpp, hardware: HardwareTarget.desktop(with: gpu))
        #expect(plan.verdict == .fitsGPU)
        #expect(relativeError(plan.decode.expected, measured) < 0.20, "\(gpuName) \(model) \(mix.rawValue): \(plan.decode.expected)")
        #expect(plan.decode.low <= plan.decode.expected && plan.decode.expected <= plan.decode.high)
    }

    /// V9 prefill (pp512) on the 4090: Llama-3-8B Q4_K_M 7138.99, F16 9382.00 t/s.
    @Test(arguments: [(QuantMix.q4_K_M, 7138.99), (.f16, 9382.0)])
    func v9PrefillOn4090(mix: QuantMix, measured: Double) throws {
        let m = try shape("Llama 3 8B")
        let plan = InferencePlan.make(
            shape: m, inventory: WeightInventory(shape: m, mix: mix), settings: InferenceSettings(contextLength: 512),
            engine: .llamaCpp, hardware: HardwareTarget.desktop(with: try Catalog.gpu(named: "RTX 4090")))
        #expect(relativeError(plan.prefill.expected, measured) < 0.20, "\(mix.rawValue): \(plan.prefill.expected)")
    }

    /// V12: CPU only, Ryzen 7 5800X3D (8 cores) with dual-channel DDR4-3600 (57.6 GB/s), Llama-2-7B
    /// Q4_0: tg 10.7 t/s (llm-tracker AMD GPUs page).
    @Test func v12DesktopCPU() throws {
        let m = try shape("Llama 2 7B")
        let cpu = HardwareTarget(gpu: nil, ramBytes: 64 << 30, cpuBandwidth: 57.6e9, cpuThreads: 8)
        let plan = InferencePlan.make(
            shape: m, inventory: WeightInventory(shape: m, mix: .q4_0), settings: InferenceSettings(contextLength: 512),
            engine: .llamaCpp, hardware: cpu)
        #expect(plan.verdict == .cpuOnly)
        #expect(relativeError(plan.decode.expected, 10.7) < 0.20, "\(plan.decode.expected)")
    }

    /// V18 (the calibration point of the CPU throughput constants, so in-sample): llama-bench on this
    /// project's 2-vCPU VM, SmolLM2 Q4_1 121.0 t/s and Gemma 3 270M Q4_K_M 62.1 t/s at 2 threads.
    @Test(arguments: [("SmolLM2 135M", QuantMix.q4_1, 121.0), ("Gemma 3 270M", .q4_K_M, 62.1)])
    func v18SmallModelsOnTwoThreads(model: String, mix: QuantMix, measured: Double) throws {
        let m = try shape(model)
        let cpu = HardwareTarget(gpu: nil, ramBytes: 20 << 30, cpuBandwidth: 28e9, cpuThreads: 2)
        let plan = InferencePlan.make(
            shape: m, inventory: WeightInventory(shape: m, mix: mix), settings: InferenceSettings(contextLength: 512),
            engine: .llamaCpp, hardware: cpu)
        #expect(relativeError(plan.decode.expected, measured) < 0.20, "\(model): \(plan.decode.expected)")
    }
}
