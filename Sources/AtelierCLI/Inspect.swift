import ArgumentParser
import GGUF
import ModelInspection
import ModelStore

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a model's architecture, hyperparameters, tokenizer, parameter count and storage by tensor type.")

    @Argument(help: "A stored or built-in model name, or a path to a .gguf file.")
    var model: String = ModelCatalog.defaultModelName

    @Flag(help: "Also list every tensor: name, type, shape, parameters, bytes and file offset.")
    var tensors = false

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let path = try ModelStore().resolve(model, progress: TerminalProgress())
        let file = try GGUFFile(path: path)
        let summary = ModelSummary(file: file, includeTensors: tensors)
        print(json ? try JSONText.encode(summary) : summary.report())
    }
}
