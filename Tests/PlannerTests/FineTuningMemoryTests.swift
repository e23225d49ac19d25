import GGUF
import ModelStore
import Testing

@testable import Planner

/// `FineTuningMemory` against peak RSS measured in session 12 (`/usr/bin/time -v atelier finetune
/// MODEL --data random.jsonl --rank 8 --alpha 16 --batch 1 --context T --lr 1e-3 --steps 2–3
/// --threads 2 [--grad-checkpoint]`, 20 lines of random words, every example truncated to T; all
/// seven projections): the plan must be within 10 % of each measurement (the bound).
@Suite(.tags(.model)) struct FineTuningMemoryTests {
    struct Measurement {
        let model: String
        let tokens: Int
        let checkpointing: Bool
        let residentKiB: Int64
    }

    static let measured: [Measurement] = [
        Measurement(model: "smollm2-135m", tokens: 128, checkpointing: false, residentKiB: 699_592),
        Measurement(model: "smollm2-135m", tokens: 256, checkpointing: false, residentKiB: 1_191_280),
        Measurement(model: "smollm2-135m", tokens: 512, checkpointing: false, residentKiB: 1_804_404),
        Measurement(model: "smollm2-135m", tokens: 128, checkpointing: true, residentKiB: 342_760),
        Measurement(model: "smollm2-135m", tokens: 256, checkpointing: true, residentKiB: 388_712),
        Measurement(model: "smollm2-135m", tokens: 512, checkpointing: true, residentKiB: 487_628),
        Measurement(model: "gemma3-270m", tokens: 128, checkpointing: false, residentKiB: 1_004_436),
        Measurement(model: "gemma3-270m", tokens: 256, checkpointing: false, residentKiB: 1_625_140),
        Measurement(model: "gemma3-270m", tokens: 128, checkpointing: true, residentKiB: 689_252),
        Measurement(model: "gemma3-270m", tokens: 256, checkpointing: true, residentKiB: 987_536),
    ]

    @Test func planWithinTenPercentOfMeasuredPeak() throws {
        for point in Self.measured {
            let file = try GGUFFile(path: try ModelStore().resolve(point.model))
            let plan = FineTuningMemory.estimate(
                shape: try ModelShape(file: file), weightBytes: WeightInventory(file: file).totalBytes, rank: 8,
                targets: ["q", "k", "v", "o", "gate", "up", "down"], tokens: point.tokens, checkpointing: point.checkpointing)
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
            shape: try ModelShape(file: file), weightBytes: 0, rank: 8, targets: ["q", "k", "v", "o", "gate", "up", "down"], tokens: 1,
            checkpointing: false)
        #expect(plan.trainableParameters == 1_898_496)
    }
}
