#if canImport(Glibc)
import Glibc
#endif

/// One NVIDIA GPU as the driver reports it.
public struct GPUInfo: Codable, Sendable, Equatable {
    public var index: Int
    public var name: String
    public var totalBytes: Int64
    public var freeBytes: Int64
    /// "major.minor", e.g. "8.9" for an RTX 4070 Ti.
    public var computeCapability: String
    /// Theoretical peak: bus width × maximum memory clock × 2 (double data rate).
    public var memoryBandwidthBytesPerSecond: Double?
}

/// What the NVIDIA driver says, or why it could not be asked.
public struct GPUProbe: Codable, Sendable, Equatable {
    public var driverVersion: String?
    public var cudaVersion: String?
    public var gpus: [GPUInfo] = []
    /// Why no GPU is listed (no driver library, initialisation failed, no device).
    public var problem: String?
}

/// NVML loaded at run time with `dlopen`, so Atelier builds and runs on machines without a driver.
enum NVML {
    private typealias Status = Int32
    private typealias Device = OpaquePointer?
    /// `NVML_CLOCK_MEM` in nvml.h's `nvmlClockType_t`.
    private static let memoryClock: Int32 = 2

    static func probe(library: String = "libnvidia-ml.so.1") -> GPUProbe {
        guard let handle = dlopen(library, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "not found"
            return GPUProbe(problem: "\(library) cannot be loaded (\(reason)): no NVIDIA driver on this machine")
        }
        defer { dlclose(handle) }
        func symbol<T>(_ name: String, _: T.Type) -> T? { dlsym(handle, name).map { unsafeBitCast($0, to: T.self) } }

        guard let initialize = symbol("nvmlInit_v2", (@convention(c) () -> Status).self),
            let shutdown = symbol("nvmlShutdown", (@convention(c) () -> Status).self)
        else {
            return GPUProbe(problem: "\(library) lacks nvmlInit_v2: driver too old")
        }
        let status = initialize()
        guard status == 0 else { return GPUProbe(problem: "nvmlInit_v2 failed with NVML error \(status) (driver not loaded?)") }
        defer { _ = shutdown() }

        var probe = GPUProbe()
        if let version = symbol("nvmlSystemGetDriverVersion", (@convention(c) (UnsafeMutablePointer<CChar>, UInt32) -> Status).self) {
            probe.driverVersion = text(80) { version($0, 80) }
        }
        if let cuda = symbol("nvmlSystemGetCudaDriverVersion_v2", (@convention(c) (UnsafeMutablePointer<Int32>) -> Status).self) {
            var v: Int32 = 0
            if cuda(&v) == 0 { probe.cudaVersion = "\(v / 1000).\(v % 1000 / 10)" }
        }
        guard let count = symbol("nvmlDeviceGetCount_v2", (@convention(c) (UnsafeMutablePointer<UInt32>) -> Status).self),
            let byIndex = symbol("nvmlDeviceGetHandleByIndex_v2", (@convention(c) (UInt32, UnsafeMutablePointer<Device>) -> Status).self)
        else {
            probe.problem = "\(library) lacks the device functions"
            return probe
        }
        var devices: UInt32 = 0
        guard count(&devices) == 0, devices > 0 else {
            probe.problem = "the NVIDIA driver reports no GPU"
            return probe
        }
        let name = symbol("nvmlDeviceGetName", (@convention(c) (Device, UnsafeMutablePointer<CChar>, UInt32) -> Status).self)
        let memory = symbol("nvmlDeviceGetMemoryInfo", (@convention(c) (Device, UnsafeMutablePointer<UInt64>) -> Status).self)
        let capability = symbol(
            "nvmlDeviceGetCudaComputeCapability",
            (@convention(c) (Device, UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>) -> Status).self)
        let busWidth = symbol("nvmlDeviceGetMemoryBusWidth", (@convention(c) (Device, UnsafeMutablePointer<UInt32>) -> Status).self)
        let maxClock = symbol("nvmlDeviceGetMaxClockInfo", (@convention(c) (Device, Int32, UnsafeMutablePointer<UInt32>) -> Status).self)
        for index in 0..<devices {
            var device: Device = nil
            guard byIndex(index, &device) == 0 else { continue }
            var gpu = GPUInfo(index: Int(index), name: "NVIDIA GPU", totalBytes: 0, freeBytes: 0, computeCapability: "?")
            if let name { gpu.name = text(96) { name(device, $0, 96) } ?? gpu.name }
            if let memory {
                // nvmlMemory_t: total, free, used (unsigned long long each).
                var info = [UInt64](repeating: 0, count: 3)
                if memory(device, &info) == 0 {
                    gpu.totalBytes = Int64(info[0])
                    gpu.freeBytes = Int64(info[1])
                }
            }
            if let capability {
                var major: Int32 = 0, minor: Int32 = 0
                if capability(device, &major, &minor) == 0 { gpu.computeCapability = "\(major).\(minor)" }
            }
            if let busWidth, let maxClock {
                var bits: UInt32 = 0, megahertz: UInt32 = 0
                if busWidth(device, &bits) == 0, maxClock(device, Self.memoryClock, &megahertz) == 0, bits > 0, megahertz > 0 {
                    gpu.memoryBandwidthBytesPerSecond = Double(bits) / 8 * Double(megahertz) * 1e6 * 2
                }
            }
            probe.gpus.append(gpu)
        }
        return probe
    }

    private static func text(_ capacity: Int, _ fill: (UnsafeMutablePointer<CChar>) -> Status) -> String? {
        var buffer = [CChar](repeating: 0, count: capacity)
        guard buffer.withUnsafeMutableBufferPointer({ fill($0.baseAddress!) }) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
