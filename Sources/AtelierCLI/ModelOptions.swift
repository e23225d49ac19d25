import Adapters
import ArgumentParser
import Compute
import ModelStore
import Models

/// Options every command that runs a model shares.
struct RuntimeOptions: ParsableArguments {
    @Option(name: [.short, .customLong("threads")], parsing: .unconditional, help: "CPU threads (default: all cores).")
    var threads: Int?

    @Option(
        name: [.short, .customLong("ctx")], parsing: .unconditional,
        help: "Context length in tokens (default: 4096; perplexity: 512; at most the model's trained length).")
    var contextLength: Int?

    @Option(name: .customLong("kv-type"), help: "KV cache element type: f16 or f32.")
    var kvType: String = "f16"

    @Option(
        name: [.short, .customLong("batch")], parsing: .unconditional, help: "Tokens evaluated per forward pass during prompt processing.")
    var batchSize: Int = 512

    @OptionGroup var adapters: AdapterOptions

    func validate() throws {
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads \(threads): expected 1…256") }
        if let contextLength, !(1...MemoryCheck.maximumContext).contains(contextLength) {
            throw ValidationError("--ctx \(contextLength): expected 1…\(MemoryCheck.maximumContext)")
        }
        if KVCacheType(rawValue: kvType) == nil { throw ValidationError("--kv-type \(kvType): expected f16 or f32") }
        if batchSize < 1 { throw ValidationError("--batch \(batchSize): expected ≥ 1") }
    }

    func load(_ reference: String) throws -> LoadedModel {
        // Adapters first: a missing or broken adapter file fails before a model is pulled or loaded.
        let adapters = try adapters.read()
        let path = try ModelStore().resolve(reference, progress: TerminalProgress())
        let backend = CPUBackend(threads: threads ?? CPUBackend.defaultThreadCount)
        return try ModelLoader.load(path: path, backend: backend, adapters: adapters)
    }

    /// `logitRows`: how many rows of logits one pass may produce. Generation needs one; with a
    /// 262k vocabulary each extra row costs 1 MiB twice (device and host), so only perplexity,
    /// which scores half of every chunk, asks for more.
    func session(for loaded: LoadedModel, defaultContext: Int = 4096, logitRows: Int = 1) throws -> InferenceSession {
        let trained = loaded.model.configuration.contextLength
        let context = contextLength ?? min(defaultContext, trained)
        if context > trained {
            Terminal.warn("--ctx \(context) is longer than the model's trained context (\(trained)); quality may drop past it")
        }
        try MemoryCheck.ensureFits(loaded, context: context, kvType: kvType, batch: batchSize, logitRows: logitRows)
        return try InferenceSession(
            model: loaded.model, contextLength: context, kvType: KVCacheType(rawValue: kvType)!,
            batchCapacity: batchSize, logitRows: logitRows)
    }
}
