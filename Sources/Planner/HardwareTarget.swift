/// The machine a plan is for: this one (from `atelier doctor`), or a catalog GPU.
public struct HardwareTarget: Codable, Sendable {
    public var gpu: GPUSpec?
    /// VRAM the plan may use: free memory on a probed GPU, the card's size for a catalog GPU,
    /// ~75 % of RAM on Apple unified memory (the GPU working-set limit).
    public var gpuBudgetBytes: Int64
    /// RAM available to the model (MemAvailable on this machine).
    public var ramBytes: Int64
    /// DRAM read bandwidth, bytes/s (measured in-process on this machine).
    public var cpuBandwidth: Double
    public var cpuThreads: Int
    /// Free disk where models are stored, if known.
    public var freeDiskBytes: Int64?
    public var label: String

    public init(
        gpu: GPUSpec?, gpuBudgetBytes: Int64? = nil, ramBytes: Int64, cpuBandwidth: Double, cpuThreads: Int,
        freeDiskBytes: Int64? = nil, label: String? = nil
    ) {
        self.gpu = gpu
        if let gpu {
            self.gpuBudgetBytes =
                gpuBudgetBytes ?? (gpu.isUnified ? Int64(Double(gpu.memoryBytes) * Self.appleWorkingSetFraction) : gpu.memoryBytes)
        } else {
            self.gpuBudgetBytes = 0
        }
        self.ramBytes = ramBytes
        self.cpuBandwidth = cpuBandwidth
        self.cpuThreads = cpuThreads
        self.freeDiskBytes = freeDiskBytes
        self.label = label ?? gpu?.name ?? "CPU (\(cpuThreads) threads)"
    }

    /// macOS lets the GPU wire ~70–78 % of unified memory (measured on M-series machines,
    /// XiongjieDai/GPU-Benchmarks-on-LLM-Inference); 75 % is the middle.
    public static let appleWorkingSetFraction = 0.75

    /// A typical desktop when the user names only a GPU: 32 GiB of dual-channel DDR5-5600
    /// (2 × 8 B × 5600 MT/s = 89.6 GB/s) and 8 threads.
    public static func desktop(with gpu: GPUSpec) -> HardwareTarget {
        if gpu.isUnified {
            // One pool: what the GPU may wire is not also free for the CPU side.
            let bandwidth = gpu.bandwidthGBps * 1e9
            return HardwareTarget(
                gpu: gpu, ramBytes: Int64(Double(gpu.memoryBytes) * (1 - appleWorkingSetFraction)),
                cpuBandwidth: bandwidth, cpuThreads: 8, label: "\(gpu.name) (unified memory)")
        }
        return HardwareTarget(
            gpu: gpu, ramBytes: 32 << 30, cpuBandwidth: 89.6e9, cpuThreads: 8,
            label: "\(gpu.name) + 32 GiB DDR5 desktop")
    }
}
