/// Training memory for a transformer: model states (weights, gradients, optimizer), activations
/// saved for the backward pass, logits, and the CUDA context. PyTorch-style training (bf16 compute);
/// Atelier's own trainer will follow the same accounting.
public struct TrainingSettings: Codable, Sendable, Equatable {
    public enum Method: String, Codable, Sendable, CaseIterable { case full, lora, qlora }
    public enum Optimizer: String, Codable, Sendable, CaseIterable { case adamw, adamw8bit, sgd }

    public var method: Method
    public var sequenceLength: Int
    public var microBatch: Int = 1
    public var optimizer: Optimizer = .adamw
    public var loraRank: Int = 8
    /// Which matrices get adapters: q, k, v, o, gate, up, down.
    public var loraTargets: Set<String> = ["q", "v"]
    public var gradientCheckpointing: Bool = false
    /// FlashAttention/SDPA: no `s²` attention matrices are kept.
    public var flashAttention: Bool = true

    public init(
        method: Method, sequenceLength: Int, microBatch: Int = 1, optimizer: Optimizer = .adamw, loraRank: Int = 8,
        loraTargets: Set<String> = ["q", "v"], gradientCheckpointing: Bool = false, flashAttention: Bool = true
    ) {
        self.method = method; self.sequenceLength = sequenceLength; self.microBatch = microBatch; self.optimizer = optimizer
        self.loraRank = loraRank; self.loraTargets = loraTargets; self.gradientCheckpointing = gradientCheckpointing
        self.flashAttention = flashAttention
    }
}

public struct TrainingMemory: Codable, Sendable, Equatable {
    public var weights: Int64
    public var gradients: Int64
    public var optimizer: Int64
    public var activations: Int64
    public var logits: Int64
    /// QLoRA: one layer's weights dequantized to bf16, forward and backward.
    public var dequantizationWorkspace: Int64
    public var trainableParameters: Int64
    /// What PyTorch's allocator peaks at (`torch.cuda.max_memory_allocated`, LitGPT's "Max GPU RAM").
    public var allocatorPeak: Int64 { weights + gradients + optimizer + activations + logits + dequantizationWorkspace }
    /// What nvidia-smi shows: the allocator peak plus the CUDA context.
    public var devicePeak: Int64 { allocatorPeak + RuntimeOverhead.cudaContextBytes }

    /// Bytes per trainable parameter for gradients and optimizer state, mixed precision:
    /// bf16 grads (2) + fp32 master (4) + two fp32 Adam moments (8) = 14 on top of the 2-byte
    /// weight — 16 in all (ZeRO, arXiv:1910.02054 §3.1). 8-bit Adam keeps the moments in 2 bytes;
    /// SGD with momentum keeps one fp32 state.
    static func stateBytes(_ optimizer: TrainingSettings.Optimizer) -> (gradients: Int64, optimizer: Int64) {
        switch optimizer {
        case .adamw: return (2, 12)
        case .adamw8bit: return (2, 6)
        case .sgd: return (2, 8)
        }
    }

    /// NF4 with double quantization: 4 bits + 8-bit absmax per 64 + fp32 per 256 absmaxes
    /// = 4.127 bits per parameter (QLoRA, arXiv:2305.14314).
    public static let nf4BitsPerParameter = 4 + 8.0 / 64 + 32.0 / (64 * 256)

    public static func estimate(shape m: ModelShape, settings s: TrainingSettings) -> TrainingMemory {
        let params = m.parameterCount
        let tensors = m.tensors()
        let layerMatrices = tensors.filter { $0.layer != nil && $0.role != .norm && $0.role != .bias }
        let linearParams = layerMatrices.reduce(0) { $0 + $1.elements }
        let h = Int64(m.embeddingLength), ff = Int64(m.feedForwardLength)
        let q = Int64(m.queryWidth), kv = Int64(m.kvWidth)

        // LoRA: r·(d_in + d_out) per adapted matrix per layer (arXiv:2106.09685).
        let adapterShapes: [String: (Int64, Int64)] = [
            "q": (h, q), "k": (h, kv), "v": (h, kv), "o": (q, h),
            "gate": (h, ff), "up": (h, ff), "down": (ff, h),
        ]
        let perLayer = s.loraTargets.compactMap { adapterShapes[$0] }.reduce(Int64(0)) { $0 + Int64(s.loraRank) * ($1.0 + $1.1) }
        let loraParams = perLayer * Int64(m.layers)

        var memory = TrainingMemory(
            weights: 0, gradients: 0, optimizer: 0, activations: 0, logits: 0, dequantizationWorkspace: 0, trainableParameters: 0)
        let (gradBytes, optimizerBytes) = stateBytes(s.optimizer)
        switch s.method {
        case .full:
            memory.trainableParameters = params
            memory.weights = 2 * params
            memory.gradients = gradBytes * params
            memory.optimizer = optimizerBytes * params
        case .lora, .qlora:
            memory.trainableParameters = loraParams
            if s.method == .lora {
                memory.weights = 2 * params
            } else {
                memory.weights = Int64(Double(linearParams) * nf4BitsPerParameter / 8) + 2 * (params - linearParams)
                let largestLayer =
                    (0..<m.layers).map { i in layerMatrices.filter { $0.layer == i }.reduce(0) { $0 + $1.elements } }.max() ?? 0
                memory.dequantizationWorkspace = 2 * 2 * largestLayer
            }
            // Adapters train in fp32: weight 4 + grad 4 + Adam 8.
            memory.weights += 4 * loraParams
            memory.gradients = 4 * loraParams
            memory.optimizer = 8 * loraParams
        }

        // Saved activations per token per layer, bf16 unless noted: both norm inputs in fp32 (the
        // norms upcast) and their bf16 outputs; q, k, v and the attention output; gate, up,
        // act(gate) and their product (gated MLP) or up and GELU(up) (plain MLP). Plain GPT blocks
        // with dropout use Korthikanti et al.'s 34·h (arXiv:2205.05198). Without flash attention the
        // softmax inputs and outputs add 5·heads·s bytes.
        let tokens = Int64(s.sequenceLength) * Int64(s.microBatch)
        var perToken: Int64 =
            m.mlp == .gated
            ? 2 * 4 * h + 2 * 2 * h + 2 * (2 * q + 2 * kv) + 2 * 4 * ff
            : 34 * h
        if s.method != .full, !s.loraTargets.isDisjoint(with: ["q", "k", "v"]) {
            perToken += 3 * h  // LoRA dropout on the attention input: mask + dropped copy
        }
        if !s.flashAttention { perToken += 5 * Int64(m.heads) * Int64(s.sequenceLength) }
        if s.gradientCheckpointing {
            // Layer inputs only, plus one layer recomputed at a time.
            memory.activations = tokens * (2 * h * Int64(m.layers) + perToken)
        } else {
            memory.activations = tokens * perToken * Int64(m.layers)
        }
        // fp32 logits and their gradient.
        memory.logits = m.isEncoder ? 0 : tokens * Int64(m.vocabularySize) * 8
        return memory
    }
}

/// CNNs and diffusion models: parameters, optimizer state and activations from the catalog's
/// measured per-image activation sizes.
public enum VisionMemory {
    /// fp32 weights 4 + grads 4 + Adam moments 8 per parameter, plus the forward/backward
    /// activations per image (torchinfo's "Forward/backward pass size") times the batch.
    public static func training(_ model: CatalogModel, batch: Int) -> Int64 {
        let states = Int64(model.parameters * 16)
        let activations = Int64((model.activationBytesPerImageTraining ?? 0) * Double(batch))
        return states + activations
    }

    /// fp32 weights plus half the forward/backward activation figure (the forward pass alone).
    public static func inference(_ model: CatalogModel, batch: Int, bytesPerParameter: Double = 4) -> Int64 {
        Int64(model.parameters * bytesPerParameter + (model.activationBytesPerImageTraining ?? 0) / 2 * Double(batch))
    }

    /// Diffusion at fp16: all components' weights, the largest self-attention's scores and softmax
    /// (latent = resolution/8, 8 heads, batch 2 for classifier-free guidance, eager attention), and
    /// the CUDA context. Coarse (±25 %): the VAE decode can peak higher at large resolutions.
    public static func diffusionInference(_ model: CatalogModel, resolution: Int) -> Int64 {
        let weights = (model.components ?? []).reduce(0.0) { $0 + $1.parameters } * 2
        let latentTokens = Double(resolution / 8) * Double(resolution / 8)
        let attention = 2 * 2 * 8 * latentTokens * latentTokens * 2
        return Int64(weights + attention) + RuntimeOverhead.cudaContextBytes
    }
}
