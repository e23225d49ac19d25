import Testing

@testable import Planner

/// `--flash-attn` in llama.cpp's partial-offload compute buffer. Without flash attention a layer's
/// attention materializes the f32 scores `n_ctx × n_ubatch × n_head`; with it `ggml_flash_attn_ext`
/// never does, and only the mask gains an f16 copy `n_ctx × n_ubatch` (llama.cpp
/// `src/llama-graph.cpp`: `build_attn_mha`, `self_kq_mask_cnv`).
@Suite struct FlashAttentionCompute {
    /// Llama 3.1 8B (h 4096, 32 heads, 8 KV heads of 128, vocabulary 128256) at n_ctx 131072,
    /// n_ubatch 512, q8_0 KV, worked by hand from the partial-offload formula:
    ///   4bh                          =     8,388,608
    ///   4b(1 + h + max(ctx, h))      =   276,826,112
    ///   h²·9/16                      =     9,437,184
    ///   4·ctx·d_h·n_kv               =   536,870,912
    ///   scores, no FA: 4·b·ctx·a     = 8,589,934,592
    ///   mask copy, FA: 2·b·ctx       =   134,217,728
    ///   logits candidate             =   701,997,056 (smaller than either attention candidate)
    /// Without FA 9,421,457,408 B (8985 MiB), with FA 965,740,544 B (921 MiB): FA saves exactly
    /// 8064 MiB, the scores less the mask copy.
    @Test func partialOffloadDropsTheScoresMatrix() throws {
        let m = try shape("Llama 3.1 8B")
        let off = InferenceSettings(contextLength: 131072, kvType: .q8_0, flashAttention: false)
        var on = off
        on.flashAttention = true
        let without = ComputeBufferModel.llamaCppPartialOffload(shape: m, settings: off)
        let with = ComputeBufferModel.llamaCppPartialOffload(shape: m, settings: on)
        #expect(without == 9_421_457_408)
        #expect(with == 965_740_544)
        #expect(Double(without - with) / MiB == 8064)
    }

    /// At a short context the logits candidate wins, so flash attention changes nothing there: the
    /// saving is the scores term only, not a flat discount.
    @Test func shortContextIsLogitsBound() throws {
        let m = try shape("Llama 3.1 8B")
        let off = InferenceSettings(contextLength: 512, flashAttention: false)
        var on = off
        on.flashAttention = true
        #expect(
            ComputeBufferModel.llamaCppPartialOffload(shape: m, settings: off)
                == ComputeBufferModel.llamaCppPartialOffload(shape: m, settings: on))
    }

    /// End to end: the same card, model and context; flash attention shrinks the GPU compute
    /// buffer by the scores term and lets at least as many layers onto the card.
    @Test func flashAttentionShowsInThePlan() throws {
        let m = try shape("Llama 3.1 8B")
        let w = WeightInventory(shape: m, mix: .q4_K_M)
        let hardware = HardwareTarget.desktop(with: try Catalog.gpu(named: "RTX 4070 Ti"))
        let off = InferenceSettings(contextLength: 131072, kvType: .q8_0, flashAttention: false)
        var on = off
        on.flashAttention = true
        let ngl = 20
        let planOff = InferencePlan.make(shape: m, inventory: w, settings: off, engine: .llamaCpp, hardware: hardware, gpuLayers: ngl)
        let planOn = InferencePlan.make(shape: m, inventory: w, settings: on, engine: .llamaCpp, hardware: hardware, gpuLayers: ngl)
        #expect(planOff.verdict != .fitsGPU && planOn.gpuLayers == ngl)
        #expect(planOff.gpu.compute - planOn.gpu.compute == 8064 << 20)
        #expect(planOff.gpu.kvCache == planOn.gpu.kvCache)
        let autoOff = InferencePlan.make(shape: m, inventory: w, settings: off, engine: .llamaCpp, hardware: hardware)
        let autoOn = InferencePlan.make(shape: m, inventory: w, settings: on, engine: .llamaCpp, hardware: hardware)
        #expect(autoOn.gpuLayers > autoOff.gpuLayers)
    }
}
