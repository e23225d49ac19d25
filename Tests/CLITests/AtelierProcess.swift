import Foundation

/// The `atelier` executable `swift test` built beside this test bundle, run to completion with its
/// output captured — the way a user or a script runs it.
struct AtelierProcess {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
        /// Both streams, for checks that do not care which one a message went to.
        var output: String { stdout + stderr }
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    static func executable() throws -> URL {
        var directory = Bundle.main.bundleURL
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("atelier")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        for bundle in Bundle.allBundles {
            let candidate = bundle.bundleURL.deletingLastPathComponent().appendingPathComponent("atelier")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw Failure("no atelier executable beside the test bundle; `swift test -c release` builds it")
    }

    /// Runs `atelier arguments…` with `input` on standard input; `environment` adds to the inherited one.
    static func run(
        _ arguments: [String], input: String? = nil, environment: [String: String] = [:], timeout: Duration = .seconds(300)
    ) throws -> Result {
        let process = Process()
        process.executableURL = try executable()
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        // Files, not pipes: a child that writes a lot can never block on a full pipe.
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("stdout"), errURL = directory.appendingPathComponent("stderr")
        try Data().write(to: outURL)
        try Data().write(to: errURL)
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let stdin = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = stdin
        signal(SIGPIPE, SIG_IGN)  // a child that exits without reading its input must not kill the test
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try stdin.fileHandleForWriting.close()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now > deadline {
                process.terminate()
                throw Failure("atelier \(arguments.joined(separator: " ")) did not finish within \(timeout)")
            }
            Thread.sleep(forTimeInterval: 0.01)
        }
        try out.close()
        try err.close()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: try Data(contentsOf: outURL), as: UTF8.self),
            stderr: String(decoding: try Data(contentsOf: errURL), as: UTF8.self))
    }
}
