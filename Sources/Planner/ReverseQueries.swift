/// The questions asked backwards: what is the longest context, the best quantization, the
/// smallest GPU that makes a model fit?
public enum ReverseQueries {
    /// The longest context (a multiple of 256, at most the model's) that keeps the plan's verdict:
    /// entirely on the GPU when it is there now, otherwise running at all. Nil when even 256 does not.
    public static func maxContext(
        shape: ModelShape, inventory: WeightInventory, base: InferenceSettings, engine: Engine,
        hardware: HardwareTarget
    ) -> Int? {
        let now = InferencePlan.make(shape: shape, inventory: inventory, settings: base, engine: engine, hardware: hardware)
        let wantGPU = hardware.gpu != nil && engine == .llamaCpp && now.verdict == .fitsGPU
        func fits(_ ctx: Int) -> Bool {
            var s = base
            s.contextLength = ctx
            let plan = InferencePlan.make(shape: shape, inventory: inventory, settings: s, engine: engine, hardware: hardware)
            return wantGPU ? plan.verdict == .fitsGPU : plan.verdict != .doesNotFit
        }
        let step = 256
        var low = 1, high = max(1, shape.contextLength / step)
        guard fits(step) else { return nil }
        if fits(high * step) { return high * step }
        while high - low > 1 {
            let mid = (low + high) / 2
            if fits(mid * step) { low = mid } else { high = mid }
        }
        return low * step
    }

    /// The highest-quality named mix that runs fully on the GPU (or, CPU-only, fits in RAM).
    public static func bestQuant(shape: ModelShape, settings: InferenceSettings, engine: Engine, hardware: HardwareTarget)
        -> (mix: QuantMix, plan: InferencePlan)?
    {
        let wantGPU = hardware.gpu != nil && engine == .llamaCpp
        for mix in QuantMix.byQuality {
            let plan = InferencePlan.make(
                shape: shape, inventory: WeightInventory(shape: shape, mix: mix), settings: settings,
                engine: engine, hardware: hardware)
            if wantGPU ? plan.verdict == .fitsGPU : plan.verdict != .doesNotFit { return (mix, plan) }
        }
        return nil
    }

    /// Catalog GPUs on which the model runs entirely on the GPU, cheapest first (by launch price;
    /// unpriced cards after, smallest memory first).
    public static func whichGPU(shape: ModelShape, inventory: WeightInventory, settings: InferenceSettings)
        -> [(gpu: GPUSpec, plan: InferencePlan)]
    {
        Catalog.gpus.compactMap { gpu -> (GPUSpec, InferencePlan)? in
            let plan = InferencePlan.make(
                shape: shape, inventory: inventory, settings: settings, engine: .llamaCpp,
                hardware: HardwareTarget.desktop(with: gpu))
            return plan.verdict == .fitsGPU ? (gpu, plan) : nil
        }.sorted { a, b in
            switch (a.0.priceNewUSD, b.0.priceNewUSD) {
            case (let x?, let y?): return x < y
            case (_?, nil): return true
            case (nil, _?): return false
            default: return a.0.memoryGiB < b.0.memoryGiB
            }
        }
    }
}
