import Foundation
import Testing

/// `atelier finetune` as a user runs it: the files beside the adapter, and the metrics log — one
/// line per step and per evaluation, its clock running forward, so a script can time any steps it
/// chooses (scripts/bench-lora-vs-peft.sh times the ones after its warmup).
@Suite(.serialized, .tags(.model, .process)) struct FineTuneCommandTests {
    @Test func writesTheAdapterAndAMetricsLineForEveryStepAndEvaluation() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-finetune-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("train.jsonl")
        let lines = (0..<4).map { "{\"text\": \"Line \($0): the quick brown fox jumps over the lazy dog.\"}" }
        try (lines.joined(separator: "\n") + "\n").write(to: data, atomically: true, encoding: .utf8)
        let adapter = directory.appendingPathComponent("a.gguf").path
        let result = try AtelierProcess.run([
            "finetune", "smollm2-135m", "--data", data.path, "--valid", data.path, "--steps", "3", "--batch", "1", "--context", "32",
            "--eval-every", "2", "--eval-examples", "2", "--threads", "2", "--out", adapter,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        for suffix in ["", ".metrics.jsonl", ".loss.svg", ".checkpoint.gguf"] {
            #expect(FileManager.default.fileExists(atPath: adapter + suffix), "missing a.gguf\(suffix)")
        }
        let records = try String(contentsOfFile: adapter + ".metrics.jsonl", encoding: .utf8).split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let steps = records.filter { $0["train_loss"] != nil }
        #expect(steps.compactMap { $0["step"] as? Int } == [1, 2, 3])
        let elapsed = steps.compactMap { $0["elapsed_seconds"] as? Double }
        #expect(elapsed.count == 3 && elapsed[0] > 0 && zip(elapsed, elapsed.dropFirst()).allSatisfy { $0 < $1 })
        #expect(steps.allSatisfy { (($0["train_loss"] as? Double) ?? .nan).isFinite && (($0["tokens_per_second"] as? Double) ?? 0) > 0 })
        // Evaluations at step 2 (--eval-every) and at the last step, each after its step's line.
        let evaluations = records.enumerated().filter { $0.element["val_loss"] != nil }
        #expect(evaluations.compactMap { $0.element["step"] as? Int } == [2, 3])
        #expect(evaluations.map(\.offset) == [2, 4])
    }
}
