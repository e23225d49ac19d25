import Adapters
import ArgumentParser
import GGUF
import ModelStore

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fold LoRA adapters into a model: a new GGUF that runs without --lora.",
        discussion: """
            Each adapted tensor becomes W + scale·(alpha/rank)·B·A; everything else (metadata, other tensors) is copied \
            unchanged. Adapted tensors are written as F16, or F32 where the model's tensor is F32 (as llama.cpp's \
            llama-export-lora does), unless --quant names a type (f32, f16, bf16, q8_0, q4_0, q4_k, …). \
            The output appears only when it is complete.
            """)

    @Argument(help: "The base model: a stored or built-in name, or a .gguf path.")
    var model: String

    @OptionGroup var adapters: AdapterOptions

    @Option(name: .customLong("out"), help: "The merged model's path (.gguf).")
    var output: String

    @Option(name: .customLong("quant"), help: "Type of the adapted tensors (default: F16, F32 stays F32).")
    var quant: String?

    func validate() throws {
        if adapters.paths.isEmpty { throw ValidationError("give at least one --lora FILE to merge") }
        if let quant, Self.type(named: quant) == nil {
            throw ValidationError(
                "--quant \(quant): expected one of \(LoRAMerge.outputTypes.map { $0.name.lowercased() }.joined(separator: ", "))")
        }
    }

    static func type(named name: String) -> GGMLType? {
        LoRAMerge.outputTypes.first { $0.name.lowercased() == name.lowercased() }
    }

    func run() throws {
        let adapters = try adapters.read()
        let path = try ModelStore().resolve(model, progress: TerminalProgress())
        guard path != output else { throw ValidationError("--out \(output) is the model itself; choose another path") }
        let base = try GGUFFile(path: path)
        var shown = -1
        try LoRAMerge.merge(base: base, adapters: adapters, outputType: quant.flatMap(Self.type(named:)), to: output) { done, total in
            let percent = done * 100 / max(total, 1)
            if percent != shown {
                shown = percent
                Terminal.raw("\rmerging: \(percent)% (\(done)/\(total) tensors)")
            }
        }
        Terminal.raw("\n")
        let adapted = Set(adapters.flatMap { $0.adapter.pairs.keys }).count
        Terminal.status("wrote \(output): \(adapted) of \(base.tensors.count) tensors adapted")
    }
}
