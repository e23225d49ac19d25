import Foundation
import GGUF
import ModelStore
import Testing

@testable import Planner

#if canImport(Glibc)
import Glibc
#endif

/// The planner against the engine itself: run `atelier bench` filling the whole context (prefill
/// of n_ctx tokens, so every KV cell and workspace row is touched) in a child process and compare
/// its peak resident memory (getrusage ru_maxrss) with the plan for the same model and settings.
@Suite(.serialized, .tags(.slow, .model, .process)) struct EngineMemoryTests {
    @Test(arguments: [
        ("smollm2-135m", 512), ("smollm2-135m", 2048), ("smollm2-135m", 8192),
        ("gemma3-270m", 512), ("gemma3-270m", 2048), ("gemma3-270m", 8192),
    ])
    func peakResidentMemoryIsPredicted(model: String, contextLength: Int) throws {
        let path = try ModelStore().resolve(model)
        let file = try GGUFFile(path: path)
        let shape = try ModelShape(file: file)
        let plan = InferencePlan.make(
            shape: shape, inventory: WeightInventory(file: file),
            settings: InferenceSettings(contextLength: contextLength), engine: .atelier,
            hardware: HardwareTarget(gpu: nil, ramBytes: 64 << 30, cpuBandwidth: 20e9, cpuThreads: 2))
        let measured = try Self.peakResidentBytes(
            of: try Self.atelierBinary(),
            ["bench", path, "-c", "\(contextLength)", "-p", "\(contextLength)", "-n", "0", "-r", "1", "-t", "2"])
        let predicted = Double(plan.host.total)
        let error = abs(predicted - measured) / measured
        #expect(error < 0.05, "\(model) n_ctx \(contextLength): predicted \(predicted / MiB) MiB, measured \(measured / MiB) MiB")
    }

    /// Runs `binary` to completion; the peak resident memory it reports on stderr (its own VmHWM —
    /// getrusage of a posix_spawn'ed child would include this test process's memory, which the child
    /// shares until it execs).
    static func peakResidentBytes(of binary: String, _ arguments: [String]) throws -> Double {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent(
            "atelier-rss-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).log"
        ).path
        defer { unlink(log) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, log, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        let argv = ([binary] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        guard posix_spawn(&child, binary, &actions, nil, argv, environ) == 0 else { throw TestFailure("cannot start \(binary)") }
        var status: Int32 = 0
        guard waitpid(child, &status, 0) == child else { throw TestFailure("waitpid failed") }
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw TestFailure("\(binary) \(arguments) exited with status \(status)")
        }
        let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
        guard let line = text.split(separator: "\n").first(where: { $0.hasPrefix("peak resident memory: ") }),
            let bytes = Double(line.dropFirst("peak resident memory: ".count).prefix { $0.isNumber })
        else {
            throw TestFailure("no peak resident memory line in: \(text)")
        }
        return bytes
    }

    /// The `atelier` executable `swift test` built beside this test bundle.
    static func atelierBinary() throws -> String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("atelier").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw TestFailure("no atelier executable beside the test bundle; build it with `swift build -c release` first")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
