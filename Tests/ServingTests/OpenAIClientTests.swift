import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `atelier serve` against real clients: the official `openai` Python package (installed by
/// .ci/run) runs scripts/openai-client-test.py — every endpoint, streaming, stops, seeds, logprobs,
/// each error status, a full queue, a disconnect, SIGTERM with a request in flight — and
/// scripts/load-test.py — 32 concurrent streams, each equal to its answer served alone.
@Suite(.serialized, .tags(.slow, .model, .process)) struct OpenAIClientTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func openAIPackageAgainstTheServer() throws {
        let server = try RunningServer(arguments: ["--parallel", "2", "--queue", "2", "--api-key", "test-key", "-c", "1024", "-t", "2"])
        let status = try Self.python([
            "scripts/openai-client-test.py", server.baseURL, "test-key", "smollm2-135m", "\(server.process.processIdentifier)",
        ])
        #expect(status == 0)
        server.process.waitUntilExit()
        #expect(server.process.terminationStatus == 0, "the server exits cleanly after SIGTERM")
    }

    @Test func thirtyTwoConcurrentStreamsMatchTheirAloneAnswers() throws {
        let server = try RunningServer(arguments: ["--parallel", "4", "--api-key", "load", "-c", "1024", "-t", "2"])
        defer { server.stop() }
        #expect(try Self.python(["scripts/load-test.py", server.baseURL, "load", "smollm2-135m", "32", "24"]) == 0)
    }

    static func python(_ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3"] + arguments
        process.currentDirectoryURL = repository
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}

/// `atelier serve smollm2-135m --port 0 …`, started and waited for until it prints its address.
final class RunningServer {
    let process = Process()
    let baseURL: String

    init(arguments: [String]) throws {
        process.executableURL = URL(fileURLWithPath: try EngineBinary.path())
        process.arguments = ["serve", "smollm2-135m", "--port", "0"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        let handle = output.fileHandleForReading
        while !text.contains("/v1") {
            let data = handle.availableData
            if data.isEmpty { throw EngineBinary.Failure("the server exited before listening: \(text)") }
            text += String(decoding: data, as: UTF8.self)
        }
        guard let start = text.range(of: "http://"), let end = text.range(of: "/v1", range: start.upperBound..<text.endIndex) else {
            throw EngineBinary.Failure("no address in \(text)")
        }
        baseURL = String(text[start.lowerBound..<end.upperBound])
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        process.waitUntilExit()
    }
}

enum EngineBinary {
    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    /// The `atelier` executable `swift test` built beside this test bundle.
    static func path() throws -> String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("atelier").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw Failure("no atelier executable beside the test bundle; build it with `swift build -c release` first")
    }
}
