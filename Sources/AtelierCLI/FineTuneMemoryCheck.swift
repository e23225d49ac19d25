import ArgumentParser
import GGUF
import Hardware
import ModelInspection
import Planner

/// `atelier finetune`'s memory plan (the planner's `FineTuningMemory`, calibrated on measured peak
/// RSS): printed before training, and a refusal with the numbers when the limits cannot hold it.
/// `atelier fit --train lora|qlora` prints the same plan for this machine.
enum FineTuneMemoryCheck {
    static func plan(file: GGUFFile, rank: Int, targets: [String], batch: Int, context: Int, checkpointing: Bool) throws
        -> FineTuningMemory
    {
        FineTuningMemory.estimate(
            shape: try ModelShape(file: file), weightBytes: WeightInventory(file: file).totalBytes, rank: rank, targets: Set(targets),
            batch: batch, sequence: context, checkpointing: checkpointing)
    }

    static func summary(_ plan: FineTuningMemory) -> String {
        "runtime \(Format.bytes(plan.runtime)), base weights \(Format.bytes(plan.weights)), LoRA + AdamW \(Format.bytes(plan.adapters)), "
            + "activations \(Format.bytes(plan.activations)), head \(Format.bytes(plan.head))"
    }

    static func require(file: GGUFFile, rank: Int, targets: [String], batch: Int, context: Int, checkpointing: Bool) throws {
        let plan = try plan(file: file, rank: rank, targets: targets, batch: batch, context: context, checkpointing: checkpointing)
        Terminal.status("Planned peak memory: \(Format.bytes(plan.total)) at batch \(batch) × \(context) tokens (\(summary(plan)))")
        guard let limit = MemoryLimits.current().tightest, plan.total - plan.runtime > limit.remainingBytes else { return }
        throw ValidationError(
            "fine-tuning at batch \(batch) × \(context) tokens needs about \(Format.bytes(plan.total)) (\(summary(plan))); "
                + "\(limit.name) leaves \(Format.bytes(max(0, limit.remainingBytes))). Use a smaller --batch or --context"
                + (checkpointing ? "." : ", or --grad-checkpoint."))
    }
}
