import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `atelier run` and `chat` with the small test model (greedy, so the text is fixed by the model):
/// a lone model name opens a chat, the prompt comes from a file or stdin, Ctrl-C still prints the
/// stats line, a base model is named as one, and a context the memory cannot hold is refused before
/// anything is allocated.
@Suite(.serialized, .tags(.model, .process)) struct ModelCommandTests {
    static let greedy = ["--temp", "0", "-t", "2", "-c", "512"]

    @Test func aLoneModelNameOpensAChat() throws {
        // The same answer `atelier chat` gives to the same question (ChatTerminalTests).
        let result = try AtelierProcess.run(["run", "smollm2-135m", "-n", "64"] + Self.greedy, input: "What is the capital of Japan?\n")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout == "The capital of Japan is Tokyo.\n")
    }

    @Test func thePromptComesFromAFileOrStandardInput() throws {
        let prompt = "The capital of France is"
        let direct = try AtelierProcess.run(["run", "smollm2-135m", prompt, "-n", "8"] + Self.greedy)
        #expect(direct.status == 0, "\(direct.stderr)")
        #expect(direct.stdout.hasPrefix(prompt) && direct.stdout.count > prompt.count + 4)

        let path = FileManager.default.temporaryDirectory.appendingPathComponent("prompt-\(UUID().uuidString).txt").path
        try prompt.write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let fromFile = try AtelierProcess.run(["run", "smollm2-135m", "-f", path, "-n", "8"] + Self.greedy)
        #expect(fromFile.stdout == direct.stdout, "\(fromFile.stderr)")
        let fromStdin = try AtelierProcess.run(["run", "smollm2-135m", "-", "-n", "8"] + Self.greedy, input: prompt)
        #expect(fromStdin.stdout == direct.stdout, "\(fromStdin.stderr)")
        let dashF = try AtelierProcess.run(["run", "-f", "-", "-n", "8"] + Self.greedy, input: prompt)
        #expect(dashF.stdout == direct.stdout, "\(dashF.stderr)")
    }

    @Test func ctrlCStopsGenerationAndStillPrintsTheStats() throws {
        let process = Process()
        process.executableURL = try AtelierProcess.executable()
        process.arguments = ["run", "smollm2-135m", "Once upon a time", "-n", "-1", "--temp", "0", "-t", "2", "-c", "4096"]
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Wait until text streams, then interrupt as the terminal's Ctrl-C does.
        var streamed = Data()
        while streamed.count < 40 {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }  // it ended on its own: the checks below say how
            streamed += chunk
        }
        kill(process.processIdentifier, SIGINT)
        streamed += output.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(stderr)")
        #expect(stderr.contains("(stopped by Ctrl-C)"), "\(stderr)")
        #expect(stderr.contains("generation: "), "\(stderr)")
    }

    @Test func aModelWithoutATemplateThatLooksBaseIsNamedAsOne() throws {
        let base = try AtelierProcess.run(["chat", "gemma3-270m", "-n", "4"] + Self.greedy, input: "Hello\n")
        #expect(base.status == 0, "\(base.stderr)")
        #expect(base.stderr.contains("gemma3-270m has no chat template and looks like a base model"), "\(base.stderr)")
        let instruct = try AtelierProcess.run(["chat", "smollm2-135m", "-n", "4"] + Self.greedy, input: "Hello\n")
        #expect(!instruct.stderr.contains("base model"), "\(instruct.stderr)")
    }

    /// `atelier ARGUMENTS` under a 4 GiB address-space limit (`ulimit -v`): its exit status and stderr.
    static func underMemoryLimit(_ arguments: String) throws -> (status: Int32, stderr: String) {
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", "ulimit -v 4194304; exec \"$0\" \(arguments)", try AtelierProcess.executable().path]
        let errors = Pipe()
        shell.standardError = errors
        shell.standardOutput = FileHandle.nullDevice
        try shell.run()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        shell.waitUntilExit()
        return (shell.terminationReason == .exit ? shell.terminationStatus : -1, stderr)
    }

    @Test func aContextTheMemoryCannotHoldIsRefusedWithTheNumbers() throws {
        // SmolLM2: 30 layers × 2 × 192 f16 values = 23,040 bytes of KV cache per token, so a million
        // tokens need 21.46 GiB; under a 4 GiB address-space limit that cannot be allocated.
        let run = try Self.underMemoryLimit("run smollm2-135m hello -c 1000000 -n 1")
        #expect(run.status > 0, "\(run.stderr)")
        #expect(run.stderr.contains("a context of 1,000,000 tokens needs "), "\(run.stderr)")
        #expect(run.stderr.contains("KV cache 21.46 GiB"), "\(run.stderr)")
        #expect(run.stderr.contains("(ulimit -v)"), "\(run.stderr)")

        // 64 slots × 8,192 tokens × 23,040 bytes = 11.25 GiB of KV cache for the server.
        let serve = try Self.underMemoryLimit("serve smollm2-135m --port 0 --parallel 64 -c 8192")
        #expect(serve.status > 0, "\(serve.stderr)")
        #expect(serve.stderr.contains("a context of 64 slots × 8,192 tokens needs "), "\(serve.stderr)")
        #expect(serve.stderr.contains("KV cache 11.25 GiB"), "\(serve.stderr)")
        #expect(serve.stderr.contains("or --parallel"), "\(serve.stderr)")
        // --kv-type f32 doubles it, and the message suggests f16.
        let f32 = try Self.underMemoryLimit("serve smollm2-135m --port 0 --parallel 64 -c 8192 --kv-type f32")
        #expect(f32.stderr.contains("KV cache 22.50 GiB"), "\(f32.stderr)")
        #expect(f32.stderr.contains("or --kv-type f16"), "\(f32.stderr)")
    }
}
