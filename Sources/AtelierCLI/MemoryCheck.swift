import ArgumentParser
import Hardware
import ModelInspection
import Models
import Planner

/// Refuses a context or slot count the machine cannot hold — before anything is allocated, with the
/// planner's numbers — instead of letting the allocation abort the process.
enum MemoryCheck {
    /// The longest context any command accepts: the engine's own limit (positions RoPE can tell
    /// apart), far beyond any model's training and small enough for 64-bit size arithmetic.
    static let maximumContext = HyperparameterLimits.contextLength.upperBound

    /// The KV cache and workspace for `sequences` sequences of `context` tokens each, from the
    /// planner's model of Atelier's allocations (exact for the CPU engine: docs/PLANNER.md).
    /// `sharedWorkspace`: the sequences run in one forward pass with one workspace (`serve`).
    static func sessionBytes(
        loaded: LoadedModel, context: Int, sequences: Int, kvType: String, batch: Int, logitRows: Int, sharedWorkspace: Bool = false
    ) throws -> (kv: Int64, workspace: Int64) {
        let shape = try ModelShape(file: loaded.file)
        let settings = InferenceSettings(
            contextLength: context, batch: batch, kvType: kvType == "f32" ? .f32 : .f16, flashAttention: false, parallel: 1)
        let kv = KVCacheModel.bytes(shape: shape, settings: settings, engine: .atelier)
        let workspace = ComputeBufferModel.atelier(shape: shape, settings: settings, logitRows: logitRows)
        let (total, overflow) = kv.multipliedReportingOverflow(by: Int64(sequences))
        guard !overflow else { throw ValidationError("a KV cache for \(sequences) × \(context) tokens does not fit in 64-bit sizes") }
        return (total, sharedWorkspace ? workspace : workspace * Int64(sequences))
    }

    /// Throws when the session needs more than the tightest memory limit allows.
    static func ensureFits(
        _ loaded: LoadedModel, context: Int, sequences: Int = 1, kvType: String, batch: Int, logitRows: Int = 1,
        sharedWorkspace: Bool = false
    ) throws {
        let (kv, workspace) = try sessionBytes(
            loaded: loaded, context: context, sequences: sequences, kvType: kvType, batch: batch, logitRows: logitRows,
            sharedWorkspace: sharedWorkspace)
        guard let limit = MemoryLimits.current().tightest else { return }
        let needed = kv + workspace
        guard needed > limit.remainingBytes else { return }
        let slots =
            sequences > 1 ? "\(sequences) slots × \(Format.grouped(Int64(context))) tokens" : "\(Format.grouped(Int64(context))) tokens"
        throw ValidationError(
            "a context of \(slots) needs \(Format.bytes(needed)) (KV cache \(Format.bytes(kv)), workspace \(Format.bytes(workspace))) "
                + "but only \(Format.bytes(max(0, limit.remainingBytes))) is left (\(limit.name)); use a smaller -c"
                + (sequences > 1 ? " or --parallel" : "") + (kvType == "f32" ? ", or --kv-type f16" : ""))
    }
}
