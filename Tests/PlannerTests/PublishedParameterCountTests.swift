import Foundation
import Testing

@testable import Planner

/// The catalog's hyperparameters against the parameter counts the model makers publish: a wrong
/// layer count, width or tie flag moves the count by more than 2 %.
@Suite struct PublishedParameterCounts {
    /// (catalog name, published parameters, where it is published).
    static let published: [(String, Double, String)] = [
        ("Qwen3 0.6B", 0.6e9, "huggingface.co/Qwen/Qwen3-0.6B model card: 0.6B"),
        ("Qwen3 1.7B", 1.7e9, "huggingface.co/Qwen/Qwen3-1.7B model card: 1.7B"),
        ("Qwen3 4B", 4.0e9, "huggingface.co/Qwen/Qwen3-4B model card: 4.0B"),
        ("Qwen3 8B", 8.2e9, "huggingface.co/Qwen/Qwen3-8B model card: 8.2B (6.95B non-embedding)"),
        ("Qwen3 14B", 14.8e9, "huggingface.co/Qwen/Qwen3-14B model card: 14.8B (13.2B non-embedding)"),
        ("Qwen3 32B", 32.8e9, "huggingface.co/Qwen/Qwen3-32B model card: 32.8B"),
        // llama.cpp's load log prints "model params = 30.532 B" (ikawrakow/ik_llama.cpp#370).
        ("Qwen3 30B-A3B", 30.532e9, "llama.cpp load log (ik_llama.cpp#370); model card 30.5B"),
        ("Llama 3.2 1B", 1.23e9, "meta-llama/Llama-3.2-1B model card: 1.23B"),
        ("Llama 3.2 3B", 3.21e9, "meta-llama/Llama-3.2-3B model card: 3.21B"),
        ("Gemma 3 1B", 1.0e9, "google/gemma-3-1b-pt: 1B (text only)"),
        ("Gemma 3 27B", 27e9, "google/gemma-3-27b-pt: 27B"),
        ("Phi-4", 14.7e9, "microsoft/phi-4 on the Hub: 14.7B (the technical report rounds to 14B)"),
        ("Phi-4-mini", 3.8e9, "huggingface.co/microsoft/Phi-4-mini-instruct model card: 3.8B"),
        ("Mistral Small 3 24B", 23.6e9, "huggingface.co/mistralai/Mistral-Small-24B-Base-2501: 23.6B (card: 24B)"),
        ("DeepSeek-R1-Distill-Qwen-1.5B", 1.78e9, "huggingface.co/deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B: 1.78B"),
        // The other distills keep their base model's shape, so its published count: Qwen2.5 7B/14B/32B
        // model cards 7.61B/14.7B/32.5B, Llama 3.1 8B 8.03B, Llama 3.3 70B 70.6B.
        ("DeepSeek-R1-Distill-Qwen-7B", 7.61e9, "Qwen2.5-7B model card: 7.61B"),
        ("DeepSeek-R1-Distill-Qwen-14B", 14.7e9, "Qwen2.5-14B model card: 14.7B"),
        ("DeepSeek-R1-Distill-Qwen-32B", 32.5e9, "Qwen2.5-32B model card: 32.5B"),
        ("DeepSeek-R1-Distill-Llama-8B", 8.03e9, "base Llama 3.1 8B: 8.03B"),
        ("DeepSeek-R1-Distill-Llama-70B", 70.6e9, "base Llama 3.3 70B: 70.6B"),
    ]

    @Test(arguments: published.map(\.0))
    func shapeMatchesThePublishedCount(_ name: String) throws {
        let entry = try #require(Self.published.first { $0.0 == name })
        let model = try Catalog.model(named: name)
        #expect(model.name == name)
        let count = Double(try #require(model.shape).parameterCount)
        #expect(relativeError(count, entry.1) < 0.02, "\(name): \(count) from the shape vs \(entry.1) (\(entry.2))")
    }

    /// Qwen3-30B-A3B: 3.3B parameters activated per token (model card); llama.cpp counts 29.910 B
    /// in the repeating layers (ik_llama.cpp#370), i.e. everything but the two 151936 × 2048 tables.
    @Test func mixtureOfExpertsActiveAndLayerParameters() throws {
        let m = try shape("Qwen3 30B-A3B")
        #expect(relativeError(Double(m.activeParameterCount), 3.3e9) < 0.02)
        let layers = m.parameterCount - 2 * 151936 * 2048 - 2048
        #expect(relativeError(Double(layers), 29.910e9) < 0.001)
        #expect(m.activeExpertFraction == 8.0 / 128)
        // A dense model's active count is its count.
        let dense = try shape("Qwen3 32B")
        #expect(dense.activeParameterCount == dense.parameterCount)
    }
}

/// A mixture of experts keeps every expert in memory but reads and multiplies only the active ones.
@Suite struct MixtureOfExpertsPlanning {
    @Test func everyExpertIsResident() throws {
        let m = try shape("Qwen3 30B-A3B")
        let w = WeightInventory(shape: m, mix: .q4_K_M)
        let stacks = w.entries.filter { $0.role.isExpertStack }
        #expect(stacks.count == 3 * 48)
        #expect(stacks.reduce(0) { $0 + $1.elements } == 48 * 3 * 128 * 768 * 2048)
        // The router stays F32, as the converter writes it and the quantizer leaves it.
        #expect(w.entries.filter { $0.role == .ffnRouter }.allSatisfy { $0.typeName == "F32" && $0.elements == 128 * 2048 })
        // Q4_K_M gives the stacked down projections llama.cpp's ffn_down rule: Q6_K on the
        // more-bits layers (first and last eighth, every third between), Q4_K elsewhere.
        let down = w.entries.filter { $0.role == .ffnDownExperts }
        #expect(down.first { $0.layer == 0 }?.typeName == "Q6_K")
        #expect(down.first { $0.layer == 7 }?.typeName == "Q4_K")
        // On a card that holds it, the GPU holds every expert.
        let plan = InferencePlan.make(
            shape: m, inventory: w, settings: InferenceSettings(contextLength: 4096), engine: .llamaCpp,
            hardware: HardwareTarget.desktop(with: try Catalog.gpu(named: "RTX 4090")))
        #expect(plan.verdict == .fitsGPU)
        #expect(plan.gpu.weights == w.totalBytes - w.tokenEmbeddingBytes)
    }

    /// Mixtral 8x7B (32 layers of 4096, 32/8 heads, 8 experts of 14336, 2 active, vocabulary 32000):
    /// llama.cpp prints "model params = 46.70 B" for it (llama.cpp#5137), and its quantizer gives an
    /// 8-expert model's attn_v and attn_k Q8_0 whatever the mix.
    @Test func eightExpertModelsGetQ8AttentionVAndK() throws {
        let mixtral = ModelShape(
            name: "Mixtral 8x7B", family: "llama", layers: 32, embeddingLength: 4096, heads: 32, kvHeads: 8, headDim: 128,
            feedForwardLength: 14336, vocabularySize: 32000, contextLength: 32768, experts: 8, activeExperts: 2,
            expertFeedForwardLength: 14336)
        #expect(abs(Double(mixtral.parameterCount) / 1e9 - 46.70) < 0.005)
        let w = WeightInventory(shape: mixtral, mix: .q4_K_M)
        #expect(w.entries.filter { $0.role == .attentionV || $0.role == .attentionK }.allSatisfy { $0.typeName == "Q8_0" })
        #expect(w.entries.filter { $0.role == .attentionQ }.allSatisfy { $0.typeName == "Q4_K" })
        let qwen = WeightInventory(shape: try shape("Qwen3 30B-A3B"), mix: .q4_K_M)
        #expect(qwen.entries.filter { $0.role == .attentionK }.allSatisfy { $0.typeName == "Q4_K" })
    }

    /// Decode reads the shared weights and 8 of 128 experts: far fewer bytes than the file, so the
    /// MoE decodes much faster than a dense model of the same size on the same card, though it
    /// needs as much memory.
    @Test func decodeReadsOnlyTheActiveExperts() throws {
        let moe = try shape("Qwen3 30B-A3B"), dense = try shape("Qwen3 32B")
        let wMoE = WeightInventory(shape: moe, mix: .q4_K_M), wDense = WeightInventory(shape: dense, mix: .q4_K_M)
        let idle = wMoE.entries.filter { $0.role.isExpertStack }.reduce(Int64(0)) { $0 + $1.bytes } * 120 / 128
        let separateOutputTable = wMoE.tokenEmbeddingBytes
        #expect(abs(wMoE.bytesReadPerToken - (wMoE.totalBytes - separateOutputTable - idle)) < 1024)
        #expect(Double(wMoE.bytesReadPerToken) < 0.2 * Double(wMoE.totalBytes))
        #expect(relativeError(Double(wMoE.prefillParameters), Double(moe.activeParameterCount - 2 * 151936 * 2048)) < 0.001)
        let hardware = HardwareTarget.desktop(with: try Catalog.gpu(named: "RTX 4090"))
        let s = InferenceSettings(contextLength: 4096)
        let planMoE = InferencePlan.make(shape: moe, inventory: wMoE, settings: s, engine: .llamaCpp, hardware: hardware)
        let planDense = InferencePlan.make(shape: dense, inventory: wDense, settings: s, engine: .llamaCpp, hardware: hardware)
        #expect(planMoE.decode.expected > 3 * planDense.decode.expected)
        // Partly offloaded, the CPU side also reads only the active experts.
        let half = InferencePlan.make(shape: moe, inventory: wMoE, settings: s, engine: .llamaCpp, hardware: hardware, gpuLayers: 25)
        let halfAsIfDense = InferencePlan.make(
            shape: moe, inventory: WeightInventory(entries: wMoE.entries, overheadBytes: wMoE.overheadBytes, basis: "dense reading"),
            settings: s, engine: .llamaCpp, hardware: hardware, gpuLayers: 25)
        #expect(half.host.weights == halfAsIfDense.host.weights)
        #expect(half.decode.expected > 3 * halfAsIfDense.decode.expected)
    }

    /// A Hugging Face directory with a Qwen3-MoE `config.json` (the fields of Qwen3-30B-A3B, no
    /// weights): the shape carries the expert layout, so its count is the catalog entry's.
    @Test func huggingFaceConfigCarriesTheExpertLayout() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-moe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = """
            {"model_type": "qwen3_moe", "hidden_size": 2048, "num_hidden_layers": 48, "num_attention_heads": 32,
             "num_key_value_heads": 4, "head_dim": 128, "intermediate_size": 6144, "moe_intermediate_size": 768,
             "num_experts": 128, "num_experts_per_tok": 8, "vocab_size": 151936, "max_position_embeddings": 40960,
             "tie_word_embeddings": false}
            """
        try Data(config.utf8).write(to: directory.appendingPathComponent("config.json"))
        let (hf, inventory) = try HFModelDirectory.load(directory.path)
        let catalog = try shape("Qwen3 30B-A3B")
        #expect(hf.mixtureOfExperts?.experts == 128 && hf.mixtureOfExperts?.active == 8 && hf.mixtureOfExperts?.width == 768)
        #expect(hf.parameterCount == catalog.parameterCount)
        #expect(hf.activeParameterCount == catalog.activeParameterCount)
        #expect(inventory.activeExpertFraction == 8.0 / 128)
    }
}
