/// Where a model's memory goes on one machine, and what that means: fits on the GPU, partly
/// offloaded (N of M layers), CPU only, or does not fit.
public struct InferencePlan: Codable, Sendable {
    public enum Verdict: String, Codable, Sendable {
        case fitsGPU = "fits on the GPU"
        case partialOffload = "partial offload"
        case cpuOnly = "CPU only"
        case doesNotFit = "does not fit"
    }

    /// Bytes by purpose on one device.
    public struct Breakdown: Codable, Sendable, Equatable {
        public var weights: Int64 = 0
        public var kvCache: Int64 = 0
        public var compute: Int64 = 0
        public var runtime: Int64 = 0
        public var total: Int64 { weights + kvCache + compute + runtime }
    }

    public var model: String
    public var engine: Engine
    public var settings: InferenceSettings
    public var weightsBasis: String
    public var verdict: Verdict
    /// llama.cpp `-ngl`: layers plus the output layer, which goes to the GPU first.
    public var gpuLayers: Int
    public var offloadableLayers: Int
    public var gpu: Breakdown
    public var host: Breakdown
    public var gpuBudget: Int64
    public var ramBudget: Int64
    public var decode: SpeedRange
    public var prefill: SpeedRange
    public var downloadBytes: Int64

    /// Plans `inventory` (a model of `shape`) on `hardware` with `engine`. With `gpuLayers` nil the
    /// most layers that fit go to the GPU.
    public static func make(
        shape: ModelShape, inventory: WeightInventory, settings: InferenceSettings, engine: Engine,
        hardware: HardwareTarget, gpuLayers requested: Int? = nil
    ) -> InferencePlan {
        let units = shape.layers + 1
        // The output layer is llama.cpp's unit `n_layer`; tied embeddings put a copy of the table there.
        let outputUnit = inventory.hasSeparateOutput ? inventory.outputBytes : inventory.tokenEmbeddingBytes + inventory.outputBytes
        let layerWeights = (0..<shape.layers).map { inventory.layerBytes($0) }
        // A mixture of experts keeps every expert resident but reads only the active ones.
        let layerIdle = (0..<shape.layers).map { layerWeights[$0] - inventory.layerBytesRead($0) }
        let layerKV = (0..<shape.layers).map { KVCacheModel.layerBytes($0, shape: shape, settings: settings, engine: engine) }
        // Tensors in no layer besides the token table and output (position embeddings, norms).
        let globals = inventory.totalBytes - layerWeights.reduce(0, +) - inventory.tokenEmbeddingBytes - inventory.outputBytes

        func split(_ ngl: Int) -> (gpu: Breakdown, host: Breakdown) {
            var gpu = Breakdown(), host = Breakdown()
            let firstOnGPU = max(units - ngl, 0)
            host.weights = inventory.tokenEmbeddingBytes + globals + inventory.overheadBytes
            for i in 0..<shape.layers {
                if i >= firstOnGPU {
                    gpu.weights += layerWeights[i]; gpu.kvCache += layerKV[i]
                } else {
                    host.weights += layerWeights[i]; host.kvCache += layerKV[i]
                }
            }
            if ngl >= 1 { gpu.weights += outputUnit } else { host.weights += inventory.outputBytes }
            switch engine {
            case .atelier:
                host.compute = ComputeBufferModel.atelier(shape: shape, settings: settings)
                host.runtime =
                    RuntimeOverhead.atelierProcessBytes + RuntimeOverhead.atelierTokenizerBytes(vocabularySize: shape.vocabularySize)
            case .llamaCpp:
                if ngl == 0 {
                    host.compute = ComputeBufferModel.llamaCppFullOffload(shape: shape, settings: settings)
                } else if ngl == units {
                    gpu.compute = ComputeBufferModel.llamaCppFullOffload(shape: shape, settings: settings)
                    gpu.runtime = hardware.gpu?.isUnified == true ? 0 : RuntimeOverhead.cudaContextBytes
                } else {
                    gpu.compute = ComputeBufferModel.llamaCppPartialOffload(shape: shape, settings: settings)
                    gpu.runtime = hardware.gpu?.isUnified == true ? 0 : RuntimeOverhead.cudaContextBytes
                    // The host runs the CPU layers and the logits when the output stays there.
                    host.compute = 4 * Int64(settings.ubatch) * Int64(shape.embeddingLength + shape.vocabularySize)
                }
            }
            return (gpu, host)
        }

        let hasGPU = hardware.gpu != nil && engine == .llamaCpp
        var ngl = 0
        if let requested {
            ngl = hasGPU ? min(max(requested, 0), units) : 0
        } else if hasGPU {
            ngl = (0...units).reversed().first { split($0).gpu.total <= hardware.gpuBudgetBytes } ?? 0
        }
        let (gpu, host) = split(ngl)
        let verdict: Verdict
        if host.total > hardware.ramBytes || (ngl > 0 && gpu.total > hardware.gpuBudgetBytes) {
            verdict = .doesNotFit
        } else if ngl == units {
            verdict = .fitsGPU
        } else if ngl > 0 {
            verdict = .partialOffload
        } else {
            verdict = .cpuOnly
        }

        // Decode reads the weights of every unit and, on average, half a full context of KV.
        let firstOnGPU = max(units - ngl, 0)
        let gpuIdle = (0..<shape.layers).filter { $0 >= firstOnGPU }.reduce(Int64(0)) { $0 + layerIdle[$1] }
        let hostIdle = layerIdle.reduce(0, +) - gpuIdle
        let gpuShare = Double(gpu.weights - gpuIdle) + Double(gpu.kvCache) / 2
        let tokenTableRead = inventory.hasSeparateOutput ? inventory.tokenEmbeddingBytes : 0
        let cpuShare = Double(host.weights - inventory.overheadBytes - tokenTableRead - hostIdle) + Double(host.kvCache) / 2
        let totalRead = max(1, Double(inventory.bytesReadPerToken))
        let matmulFLOPs = 2 * Double(inventory.matmulParameters)
        let work = SpeedModel.Work(
            gpuBytes: gpuShare, cpuBytes: max(0, cpuShare),
            cpuFLOPs: matmulFLOPs * max(0, cpuShare) / totalRead,
            flopsPerToken: 2 * Double(inventory.prefillParameters), quantized: inventory.bitsPerWeight < 9)
        let decode = SpeedModel.decode(work, hardware: hardware)
        let prefill = SpeedModel.prefill(work, hardware: hardware, onGPU: ngl == units)
        return InferencePlan(
            model: shape.name, engine: engine, settings: settings, weightsBasis: inventory.basis, verdict: verdict,
            gpuLayers: ngl, offloadableLayers: units, gpu: gpu, host: host,
            gpuBudget: hardware.gpuBudgetBytes, ramBudget: hardware.ramBytes,
            decode: decode, prefill: prefill, downloadBytes: inventory.fileBytes)
    }
}
