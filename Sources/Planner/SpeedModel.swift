/// Tokens per second from first principles plus a few calibrated constants, given as a range.
///
/// Decode streams every weight once per token: `t = bytes_GPU/(η·BW_GPU) + t_CPU + t0`, where the
/// CPU share is the slower of its bandwidth bound and its compute bound (a 2-core VM is
/// compute-bound on small models). Prefill is compute-bound: `2 · params · tokens / (η_c · peak)`.
///
/// Constants and where they come from (docs/PLANNER.md shows the checks):
/// - GPU η 0.85–1.05, t0 2–4 ms: fitted to llama-bench F16 and Q4_K_M Llama-3-8B on 4090 (1.05,
///   3.0 ms) and 3090 (0.96, 3.2 ms) (V9).
/// - CPU η 0.6–0.8 of DRAM bandwidth: 7B Q4_0 on DDR4-3600 reaches 0.71 (V12).
/// - CPU quantized matmul throughput 15–25 GFLOP/s per AVX2 thread in decode and 25–45 in prefill:
///   llama.cpp on this project's 2-vCPU Zen 3 VM (V18: 16.6–21 decode, 28–40 prefill).
/// - GPU prefill η_c 0.8 of the dense FP16 tensor peak for F16 weights, 0.6 for quantized weights
///   (4090 Llama-3-8B pp512 9382 and 7139 t/s × 2 × 6.98 B prefill parameters = 131 and 100 of
///   165 TFLOPS, V9). Prefill FLOPs leave out the output head, which runs for the last token only.
public struct SpeedRange: Codable, Sendable, Equatable {
    public var low: Double
    public var expected: Double
    public var high: Double
}

public enum SpeedModel {
    public struct Work: Sendable {
        /// Weight + KV bytes read per decoded token on the GPU and on the CPU.
        public var gpuBytes: Double
        public var cpuBytes: Double
        /// Multiply-add FLOPs per token done on the CPU (2 per parameter).
        public var cpuFLOPs: Double
        /// FLOPs per prompt token in prefill (no output head) and whether weights are quantized.
        public var flopsPerToken: Double
        public var quantized: Bool
    }

    static let gpuEfficiency = (low: 0.85, mid: 0.95, high: 1.05)
    static let gpuOverheadSeconds = (low: 0.004, mid: 0.003, high: 0.002)
    static let cpuEfficiency = (low: 0.6, mid: 0.7, high: 0.8)
    static let cpuDecodeFLOPsPerThread = (low: 15e9, mid: 20e9, high: 25e9)
    static let cpuPrefillFLOPsPerThread = (low: 25e9, mid: 35e9, high: 45e9)

    public static func decode(_ w: Work, hardware: HardwareTarget) -> SpeedRange {
        func tokensPerSecond(_ eta: Double, _ t0: Double, _ cpuEta: Double, _ flops: Double) -> Double {
            var t = 0.0
            if w.gpuBytes > 0, let gpu = hardware.gpu { t += w.gpuBytes / (eta * gpu.bandwidthGBps * 1e9) + t0 }
            if w.cpuBytes > 0 {
                let memory = w.cpuBytes / (cpuEta * hardware.cpuBandwidth)
                let compute = w.cpuFLOPs / (flops * Double(hardware.cpuThreads))
                t += max(memory, compute)
            }
            return t > 0 ? 1 / t : 0
        }
        return SpeedRange(
            low: tokensPerSecond(gpuEfficiency.low, gpuOverheadSeconds.low, cpuEfficiency.low, cpuDecodeFLOPsPerThread.low),
            expected: tokensPerSecond(gpuEfficiency.mid, gpuOverheadSeconds.mid, cpuEfficiency.mid, cpuDecodeFLOPsPerThread.mid),
            high: tokensPerSecond(gpuEfficiency.high, gpuOverheadSeconds.high, cpuEfficiency.high, cpuDecodeFLOPsPerThread.high))
    }

    /// Prompt tokens per second with every layer on the device that runs it: all on the GPU when
    /// `onGPU`, else all on the CPU.
    public static func prefill(_ w: Work, hardware: HardwareTarget, onGPU: Bool) -> SpeedRange {
        if onGPU, let peak = hardware.gpu?.halfPrecisionFLOPS {
            let eta = w.quantized ? 0.6 : 0.8
            let mid = eta * peak / w.flopsPerToken
            return SpeedRange(low: mid * 0.8, expected: mid, high: mid * 1.2)
        }
        let threads = Double(hardware.cpuThreads)
        return SpeedRange(
            low: cpuPrefillFLOPsPerThread.low * threads / w.flopsPerToken,
            expected: cpuPrefillFLOPsPerThread.mid * threads / w.flopsPerToken,
            high: cpuPrefillFLOPsPerThread.high * threads / w.flopsPerToken)
    }
}
