import GGUF
import ModelStore
import Testing

@testable import Planner

/// `FineTuningMemory` against peak RSS measured in session 18 (`/usr/bin/time -v atelier finetune
/// MODEL --data random.jsonl --rank 8 --alpha 16 --batch 1 --context T --lr 1e-3 --steps 3
/// --threads 2 [--grad-checkpoint]`, 12 lines of random words from scripts/bench-lora-vs-peft.sh,
/// every example truncated to T; all seven projections): the plan must be within 10 % of each
/// measurement (the bound).
@Suite(.tags(.model)) struct FineTuningMemoryTests {
    struct Measurement {
        let model: String
        let tokens: Int
        let checkpointing: Bool
        let residentKiB: Int64
    }

    static let measured: [Measurement] = [
        Measurement(model: "smollm2-135m", tokens: 128, checkpointing: false, residentKiB: 391_864),
        Measurement(model: "smollm2-135m", tokens: 256, checkpointing: false, residentKiB: 578_264),
        Measurement(model: "smollm2-135m", tokens: 512, checkpointing: false, residentKiB: 1_055_260),
        Measurement(model: "smollm2-135m", tokens: 128, checkpointing: true, residentKiB: 261_124),
        Measurement(model: "smollm2-135m", tokens: 256, checkpointing: true, residentKiB: 283_684),
        Measurement(model: "smollm2-135m", tokens: 512, checkpointing: true, residentKiB: 332_088),
        Measurement(model: "gemma3-270m", tokens: 128, checkpointing: false, residentKiB: 537_768),
        Measurement(model: "gemma3-270m", tokens: 256, checkpointing: false, residentKiB: 684_416),
        Measurement(model: "gemma3-270m", tokens: 128, checkpointing: true, residentKiB: 421_972),
        Measurement(model: "gemma3-270m", tokens: 256, checkpointing: true, residentKiB: 443_724),
    ]

    @Test func planWithinTenPercentOfMeasuredPeak() throws {
        for point in Self.measured {
            let file = try GGUFFile(path: try ModelStore().resolve(point.model))
            let plan = FineTuningMemory.estimate(
                shape: try ModelShape(file: file), weightBytes: WeightInventory(file: file).totalBytes, rank: 8,
                targets: ["q", "k", "v", "o", "gate", "up", "down"], batch: 1, sequence: point.tokens, checkpointing: point.checkpointing)
            let measured = Double(point.residentKiB * 1024)
            let error = (Double(plan.total) - measured) / measured
            #expect(
                abs(error) <= 0.10,
                "\(point.model) T=\(point.tokens) checkpointing \(point.checkpointing): plan \(plan.total), measured \(Int64(measured)) (\(error))"
            )
        }
    }

    @Test func trainableParametersMatchWhatFinetuneReports() throws {
        // atelier finetune printed 1,898,496 trainable parameters for Gemma 3 270M at rank 8, all seven projections.
        let file = try GGUFFile(path: try ModelStore().resolve("gemma3-270m"))
        let plan = FineTuningMemory.estimate(
            shape: try ModelShape(file: file), weightBytes: 0, rank: 8, targets: ["q", "k", "v", "o", "gate", "up", "down"], batch: 1,
            sequence: 1,
            checkpointing: false)
        #expect(plan.trainableParameters == 1_898_496)
    }
}
