#if canImport(Glibc)
import Glibc
#endif

/// Everything `atelier doctor` reports: the hardware, and what Atelier can run on it.
public struct Machine: Codable, Sendable {
    public struct Backend: Codable, Sendable, Equatable {
        public var name: String
        public var usable: Bool
        /// Why, in a sentence the user can act on.
        public var detail: String
    }

    public var cpu: CPUInfo
    public var memory: MemoryInfo?
    public var modelStore: String
    public var freeDiskBytes: Int64?
    public var gpu: GPUProbe
    public var backends: [Backend]

    /// Probes this machine. Nothing here needs a GPU or a driver.
    public static func probe(modelStore: String) -> Machine {
        let online = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let cpu = CPUInfo.parse(cpuinfo: readText("/proc/cpuinfo") ?? "", onlineCPUs: online)
        let memory = readText("/proc/meminfo").flatMap(MemoryInfo.parse)
        var free: Int64?
        var s = statvfs()
        if statvfs(modelStore, &s) == 0 { free = Int64(s.f_bavail) * Int64(s.f_frsize) }
        let gpu = NVML.probe()
        return Machine(
            cpu: cpu, memory: memory, modelStore: modelStore, freeDiskBytes: free, gpu: gpu,
            backends: backends(cpu: cpu, gpu: gpu))
    }

    static func backends(cpu: CPUInfo, gpu: GPUProbe) -> [Backend] {
        let fast = cpu.simdLevel == "AVX2" || cpu.simdLevel == "AVX-512"
        let cpuBackend = Backend(
            name: "CPU", usable: true,
            detail: fast
                ? "\(cpu.logicalCores) threads, AVX2 int8 kernels with weights repacked at load"
                : "\(cpu.logicalCores) threads, portable scalar kernels (no AVX2+FMA+F16C: expect 10× slower)")
        let cuda: Backend
        if gpu.gpus.isEmpty {
            cuda = Backend(name: "CUDA", usable: false, detail: gpu.problem ?? "no NVIDIA GPU")
        } else {
            cuda = Backend(
                name: "CUDA", usable: false,
                detail:
                    "\(gpu.gpus.count) NVIDIA GPU(s) found, but Atelier's CUDA backend is not built yet (issue 8); models run on the CPU")
        }
        return [cpuBackend, cuda]
    }

    static func readText(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while bytes.count < 1 << 24 {
            let n = fread(&chunk, 1, chunk.count, file)
            if n == 0 { break }
            bytes += chunk[..<n]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
