import ArgumentParser
import Hardware
import ModelInspection
import ModelStore

struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What this machine has (CPU, SIMD, RAM, disk, NVIDIA GPUs) and what Atelier can use on it.")

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let machine = Machine.probe(modelStore: ModelStore().root)
        if json {
            print(try JSONText.encode(machine))
            return
        }
        let cpu = machine.cpu
        var rows: [[String]] = [
            ["CPU", "\(cpu.model): \(cpu.logicalCores) logical / \(cpu.physicalCores) physical cores"],
            ["SIMD", "\(cpu.simdLevel) (\(cpu.features.joined(separator: " ")))"],
        ]
        if let memory = machine.memory {
            rows.append(["RAM", "\(Format.bytes(memory.totalBytes)) total, \(Format.bytes(memory.availableBytes)) available"])
        }
        rows.append(["model store", machine.modelStore + (machine.freeDiskBytes.map { ", \(Format.bytes($0)) free" } ?? "")])
        if machine.gpu.gpus.isEmpty {
            rows.append(["NVIDIA GPU", "none: \(machine.gpu.problem ?? "not found")"])
        }
        for gpu in machine.gpu.gpus {
            let bandwidth = gpu.memoryBandwidthBytesPerSecond.map { ", \(Format.fixed($0 / 1e9, 0)) GB/s" } ?? ""
            rows.append([
                "GPU \(gpu.index)",
                "\(gpu.name): \(Format.bytes(gpu.totalBytes)) (\(Format.bytes(gpu.freeBytes)) free), "
                    + "compute \(gpu.computeCapability)\(bandwidth)",
            ])
        }
        if let driver = machine.gpu.driverVersion {
            rows.append(["driver", driver + (machine.gpu.cudaVersion.map { ", CUDA \($0)" } ?? "")])
        }
        for backend in machine.backends {
            rows.append(["\(backend.name) backend", (backend.usable ? "usable: " : "not usable: ") + backend.detail])
        }
        print(Format.table(["", ""], rows).split(separator: "\n").dropFirst().joined(separator: "\n"))
    }
}
