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

    /// `--frozen-precision` names what it expects, and both arithmetics train (the same first loss to
    /// bf16's rounding: the products' operands differ by 2⁻⁹ relative).
    @Test func frozenPrecisionChoices() throws {
        let bad = try AtelierProcess.run(["finetune", "smollm2-135m", "--data", "x.jsonl", "--frozen-precision", "fp8"])
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--frozen-precision fp8: expected auto, f32 or bf16"), "\(bad.stderr)")

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("atelier-precision-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let data = directory.appendingPathComponent("train.jsonl")
        let text = (0..<40).map { "word\($0 % 7) and \($0)" }.joined(separator: " ")
        try "{\"text\": \"\(text)\"}\n".write(to: data, atomically: true, encoding: .utf8)
        var firstLoss: [String: Double] = [:]
        for precision in ["f32", "bf16"] {
            let adapter = directory.appendingPathComponent("\(precision).gguf").path
            let result = try AtelierProcess.run([
                "finetune", "smollm2-135m", "--data", data.path, "--steps", "1", "--batch", "1", "--context", "64", "--threads", "2",
                "--frozen-precision", precision, "--out", adapter,
            ])
            // A CPU without AVX512-BF16 refuses bf16 by name (auto then means f32).
            if precision == "bf16" && result.stderr.contains("lacks AVX512-BF16") { continue }
            #expect(result.status == 0, "\(precision): \(result.stderr)")
            let line = try String(contentsOfFile: adapter + ".metrics.jsonl", encoding: .utf8).split(separator: "\n").first ?? ""
            let record = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            firstLoss[precision] = record["train_loss"] as? Double
        }
        let f32 = try #require(firstLoss["f32"])
        #expect(f32.isFinite && f32 > 0)
        if let bf16 = firstLoss["bf16"] { #expect(abs(bf16 - f32) < 1e-2 * f32 && bf16 != f32) }
    }
}
