import Foundation
import Testing

/// `atelier train gpt` as a user runs it: the files it writes, and that the exported model is the
/// model it trained — `atelier perplexity` on the validation text equals the trainer's own figure,
/// and `atelier run --temp 0` continues a prompt exactly as the trainer's greedy sample did.
@Suite(.serialized) struct TrainCommandTests {
    static let corpus = String(
        repeating: """
            First Citizen: Before we proceed any further, hear me speak.
            All: Speak, speak.
            First Citizen: You are all resolved rather to die than to famish?
            All: Resolved. resolved.

            """, count: 40)

    func workspace() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    func summary(_ stdout: String) throws -> [String: Any] {
        guard let line = stdout.split(separator: "\n").last(where: { $0.hasPrefix("{") }),
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        else { throw AtelierProcess.Failure("no JSON summary in: \(stdout)") }
        return object
    }

    @Test func theExportedModelIsTheTrainedModel() throws {
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("citizens.txt")
        try TrainCommandTests.corpus.write(to: data, atomically: true, encoding: .utf8)
        let model = directory.appendingPathComponent("tiny.gguf").path
        let prompt = "First Citizen:"
        let trained = try AtelierProcess.run([
            "train", "gpt", "--data", data.path, "--layers", "2", "--heads", "2", "--dim", "32", "--context", "32", "--batch", "8",
            "--steps", "60", "--lr", "3e-3", "--warmup", "5", "--eval-every", "20", "--threads", "2", "--out", model,
            "--prompt", prompt, "--sample-tokens", "16", "--json",
        ])
        #expect(trained.status == 0, "\(trained.stderr)")
        let result = try summary(trained.stdout)
        let trainerPerplexity = try #require(result["val_perplexity_llamacpp_rule"] as? Double)
        let sample = try #require(result["sample"] as? String)
        for suffix in [".gguf", ".metrics.jsonl", ".loss.svg", ".checkpoint.gguf", ".valid.txt"] {
            #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("tiny" + suffix).path), "missing tiny\(suffix)")
        }
        let metrics = try String(contentsOfFile: directory.appendingPathComponent("tiny.metrics.jsonl").path, encoding: .utf8)
        #expect(metrics.split(separator: "\n").count { $0.contains("\"train_loss\"") } == 60)
        #expect(metrics.split(separator: "\n").count { $0.contains("\"val_loss\"") } == 3)
        let svg = try String(contentsOfFile: directory.appendingPathComponent("tiny.loss.svg").path, encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("polyline"))

        let scored = try AtelierProcess.run([
            "perplexity", model, "-f", directory.appendingPathComponent("tiny.valid.txt").path, "-c", "32", "--json",
        ])
        #expect(scored.status == 0, "\(scored.stderr)")
        let scoredJSON = try JSONSerialization.jsonObject(with: Data(scored.stdout.utf8)) as? [String: Any]
        let perplexity = try #require(scoredJSON?["perplexity"] as? Double)
        #expect(
            abs(perplexity - trainerPerplexity) / trainerPerplexity < 0.01,
            "atelier perplexity \(perplexity) vs trainer \(trainerPerplexity)")

        let generated = try AtelierProcess.run(["run", model, prompt, "-n", "16", "--temp", "0"])
        #expect(generated.status == 0, "\(generated.stderr)")
        #expect(generated.stdout == prompt + sample + "\n")
    }

    @Test func ctrlCSavesACheckpointAndResumeFinishesTheRun() throws {
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("citizens.txt")
        try TrainCommandTests.corpus.write(to: data, atomically: true, encoding: .utf8)
        let model = directory.appendingPathComponent("long.gguf").path
        let arguments = [
            "train", "gpt", "--data", data.path, "--layers", "1", "--heads", "2", "--dim", "16", "--context", "16", "--batch", "4",
            "--steps", "100000", "--eval-every", "0", "--threads", "1", "--out", model, "--sample-tokens", "0",
        ]
        let process = Process()
        process.executableURL = try AtelierProcess.executable()
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Interrupt once steps are being logged, as the terminal's Ctrl-C does.
        let metrics = directory.appendingPathComponent("long.metrics.jsonl").path
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOfFile: metrics, encoding: .utf8), text.split(separator: "\n").count >= 20 { break }
            usleep(50_000)
        }
        kill(process.processIdentifier, SIGINT)
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0, "\(stderr)")
        #expect(stderr.contains("Interrupted at step"), "\(stderr)")
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("long.checkpoint.gguf").path))

        // --resume with another recipe is refused; with the same one it continues (here: a time limit ends it).
        let other = try AtelierProcess.run(arguments.map { $0 == "100000" ? "5" : $0 } + ["--resume"])
        #expect(other.status != 0 && other.stderr.contains("another recipe"), "\(other.stderr)")
        let resumed = try AtelierProcess.run(arguments + ["--resume", "--time", "0.02"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("resuming at step"), "\(resumed.stderr)")
        #expect(resumed.stderr.contains("Time limit reached at step"), "\(resumed.stderr)")
    }

    @Test func badDataIsRefusedWithTheFileNamed() throws {
        let directory = try workspace()
        defer { try? FileManager.default.removeItem(at: directory) }
        let empty = directory.appendingPathComponent("empty.txt")
        try Data().write(to: empty)
        let binary = directory.appendingPathComponent("image.bin")
        try Data([0x89, 0x50, 0x4E, 0x47, 0x00, 0x01, 0x02]).write(to: binary)
        let short = directory.appendingPathComponent("short.txt")
        try "a short text".write(to: short, atomically: true, encoding: .utf8)
        let out = directory.appendingPathComponent("m.gguf").path
        for (file, expected) in [(empty.path, "empty"), (binary.path, "image.bin"), (short.path, "context")] {
            let result = try AtelierProcess.run(["train", "gpt", "--data", file, "--steps", "2", "--out", out])
            #expect(result.status != 0)
            #expect(result.stderr.contains(expected), "\(file): \(result.stderr)")
            #expect(!result.stderr.contains("Fatal error"), "\(result.stderr)")
        }
        let missing = try AtelierProcess.run(["train", "gpt", "--steps", "2", "--out", out])
        #expect(missing.status != 0 && missing.stderr.contains("--data"))
    }
}
