import Adapters
import ArgumentParser

/// `--lora FILE` (repeatable) and `--lora-scale S`: LoRA adapters for every command that runs a model,
/// and for `merge`.
struct AdapterOptions: ParsableArguments {
    @Option(name: .customLong("lora"), help: "A LoRA adapter (llama.cpp's adapter GGUF) to apply; repeat for several.")
    var paths: [String] = []

    @Option(
        name: .customLong("lora-scale"), parsing: .unconditionalSingleValue,
        help: "Adapter strength, multiplied by the adapter's alpha/rank (default 1). Once for every --lora, or once per --lora in order.")
    var scales: [Float] = []

    func validate() throws {
        if !scales.isEmpty && paths.isEmpty { throw ValidationError("--lora-scale needs --lora") }
        guard scales.count <= 1 || scales.count == paths.count else {
            throw ValidationError(
                "--lora-scale given \(scales.count) times for \(paths.count) --lora files; give it once, or once per --lora")
        }
        if let bad = scales.first(where: { !$0.isFinite }) { throw ValidationError("--lora-scale \(bad): expected a finite number") }
    }

    /// Each adapter read and checked on its own (the model check comes when the model loads), with its scale.
    func read() throws -> [(adapter: LoRAAdapter, scale: Float)] {
        try paths.enumerated().map { index, path in
            let adapter = try LoRAAdapter.read(path: path)
            if !adapter.ignoredTensors.isEmpty {
                Terminal.warn("\(path): \(adapter.ignoredTensors.count) norm tensors are not applied (as in llama.cpp)")
            }
            let scale = scales.isEmpty ? 1 : scales.count == 1 ? scales[0] : scales[index]
            return (adapter, scale)
        }
    }
}
