import Foundation
import Testing

/// `train gpt` and `fit --train full` use the planner's model of the trainer's peak memory: a shape
/// the limits cannot hold is refused before anything is allocated, with the planner's numbers, and
/// `fit` predicts a measured peak.
@Suite(.serialized, .tags(.process)) struct TrainMemoryPlanTests {
    @Test func aHugeConfigurationIsRefusedBeforeAllocating() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("train-memory-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let text = directory.appendingPathComponent("text.txt")
        try String(repeating: "To be, or not to be, that is the question.\n", count: 2000).write(
            to: text, atomically: true, encoding: .utf8)

        let started = ContinuousClock.now
        let refused = try ModelCommandTests.underMemoryLimit(
            "train gpt --data \(text.path) --dim 8192 --layers 64 --heads 64 --steps 1 --out \(directory.path)/huge.gguf")
        let elapsed = ContinuousClock.now - started
        #expect(refused.status > 0, "\(refused.stderr)")
        #expect(elapsed < .seconds(20), "refusing took \(elapsed)")
        // V 256, D 8192, L 64, H 64 (head width 128), F 21,856 (8·8192/3 = 21,845.3 → 21,856), tied:
        // per block 4·8192² + 3·8192·21,856 + 2·8192 = 805,584,896; × 64 = 51,557,433,344;
        // + 256·8192 + 8192 = 51,559,538,688 parameters, 4 bytes each = 192.07 GiB of weights.
        #expect(refused.stderr.contains("Planned peak memory: "), "\(refused.stderr)")
        #expect(refused.stderr.contains("training 51,559,538,688 parameters at batch 12 × context 64 needs "), "\(refused.stderr)")
        #expect(refused.stderr.contains("weights 192.07 GiB"), "\(refused.stderr)")
        #expect(refused.stderr.contains("AdamW moments 384.15 GiB"), "\(refused.stderr)")
        #expect(refused.stderr.contains("ulimit -v leaves "), "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("huge.gguf").path))
    }

    @Test func fitPredictsTheMeasuredPeakOfTheNanoGPTShape() throws {
        // Measured 2026-12-02 on the project's 2-vCPU VM (load average 3.3): `atelier train gpt --data
        // shakespeare --steps 30 --eval-every 0 --sample-tokens 0 --json --out /tmp/fitcal/m.gguf
        // --layers 4 --heads 4 --dim 128 --context 64 --batch 12` printed "peak_rss_bytes":147566592.
        let measured = 147_566_592.0
        let result = try AtelierProcess.run(
            [
                "fit", "--train", "full", "--layers", "4", "--heads", "4", "--dim", "128", "--context", "64", "--batch", "12", "--vocab",
                "256",
                "--threads", "2", "--json",
            ])
        #expect(result.status == 0, "\(result.stderr)")
        let report = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
        let peak = try #require(report?["peak"] as? Double, "\(result.stdout)")
        #expect(abs(peak - measured) / measured < 0.15, "predicted \(peak), measured \(measured)")
        let plan = try #require(report?["plan"] as? [String: Any])
        #expect(plan["parameters"] as? Int == 836_736)

        let text = try AtelierProcess.run(
            [
                "fit", "--train", "full", "--layers", "4", "--heads", "4", "--dim", "128", "--context", "64", "--batch", "12", "--vocab",
                "256",
            ])
        #expect(text.status == 0, "\(text.stderr)")
        #expect(text.stdout.contains("836,736 parameters"), "\(text.stdout)")
        #expect(text.stdout.contains("Verdict: fits"), "\(text.stdout)")
    }

    @Test func fitRefusesShapeOptionsBesideAModel() throws {
        let result = try AtelierProcess.run(["fit", "Llama 3.1 8B", "--train", "full", "--layers", "4"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("give them without MODEL"), "\(result.stderr)")
    }
}
