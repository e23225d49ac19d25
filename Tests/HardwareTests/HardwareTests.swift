import Foundation
import Testing

@testable import Hardware

@Suite struct HardwareTests {
    /// An excerpt in the kernel's format: two logical CPUs on one core (SMT), AVX2 without AVX-512.
    static let cpuinfo = """
        processor\t: 0
        vendor_id\t: AuthenticAMD
        model name\t: AMD Ryzen 7 5800X 8-Core Processor
        physical id\t: 0
        core id\t\t: 0
        flags\t\t: fpu sse4_2 avx f16c fma avx2 bmi2

        processor\t: 1
        model name\t: AMD Ryzen 7 5800X 8-Core Processor
        physical id\t: 0
        core id\t\t: 0
        flags\t\t: fpu sse4_2 avx f16c fma avx2 bmi2

        """

    @Test func cpuinfoParsesModelCoresAndSIMD() {
        let cpu = CPUInfo.parse(cpuinfo: Self.cpuinfo, onlineCPUs: 99)
        #expect(cpu.model == "AMD Ryzen 7 5800X 8-Core Processor")
        #expect(cpu.logicalCores == 2)
        #expect(cpu.physicalCores == 1)
        #expect(cpu.features == ["avx", "avx2", "f16c", "fma", "sse4_2"])
        #expect(cpu.simdLevel == "AVX2")
    }

    @Test func simdLevelNeedsFMAAndF16CForAVX2() {
        #expect(CPUInfo(model: "", logicalCores: 1, physicalCores: 1, features: ["avx2"]).simdLevel == "baseline")
        #expect(CPUInfo(model: "", logicalCores: 1, physicalCores: 1, features: ["avx2", "fma", "f16c", "avx512f"]).simdLevel == "AVX-512")
        #expect(CPUInfo.parse(cpuinfo: "processor : 0\nFeatures : fp asimd evtstrm\n", onlineCPUs: 1).simdLevel == "NEON")
        // An empty file (no /proc) falls back to the online CPU count.
        let empty = CPUInfo.parse(cpuinfo: "", onlineCPUs: 6)
        #expect(empty.logicalCores == 6 && empty.physicalCores == 6 && empty.model == "unknown CPU")
    }

    @Test func meminfoInKibibytes() {
        let info = MemoryInfo.parse(meminfo: "MemTotal:       24684092 kB\nMemFree:  100 kB\nMemAvailable:   24176216 kB\n")
        #expect(info == MemoryInfo(totalBytes: 24_684_092 * 1024, availableBytes: 24_176_216 * 1024))
        #expect(MemoryInfo.parse(meminfo: "garbage\n") == nil)
    }

    /// On this machine: the probe agrees with the kernel's own numbers and never needs a GPU.
    @Test func probeOfThisMachine() throws {
        let machine = Machine.probe(modelStore: "/")
        #expect(machine.cpu.logicalCores == ProcessInfo.processInfo.activeProcessorCount)
        #expect(machine.memory?.totalBytes == Int64(ProcessInfo.processInfo.physicalMemory))
        #expect((machine.freeDiskBytes ?? 0) > 0)
        #expect(machine.backends.first?.name == "CPU" && machine.backends.first?.usable == true)
        let cuda = try #require(machine.backends.first { $0.name == "CUDA" })
        #expect(!cuda.usable && !cuda.detail.isEmpty)
        if machine.gpu.gpus.isEmpty { #expect(machine.gpu.problem != nil) }
    }

    @Test func missingDriverLibraryIsExplained() {
        let probe = NVML.probe(library: "libnvidia-ml-does-not-exist.so.1")
        #expect(probe.gpus.isEmpty)
        #expect(probe.problem?.contains("libnvidia-ml-does-not-exist.so.1") == true)
        #expect(probe.problem?.contains("no NVIDIA driver") == true)
    }
}
