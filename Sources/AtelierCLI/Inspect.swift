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

    @Flag(help: "List every metadata key with its type and value (long strings and arrays cut, their size stated).")
    var metadata = false

    @Flag(help: "Print the model's chat template (tokenizer.chat_template) and nothing else.")
    var template = false

    @Flag(help: "Print JSON.")
    var json = false

    func validate() throws {
        if template && (metadata || tensors) { throw ValidationError("--template prints only the template; drop --metadata/--tensors") }
    }

    func run() throws {
        let path = try ModelStore().resolve(model, progress: TerminalProgress())
        let file = try GGUFFile(path: path)
        if template {
            guard let text = file.metadata.string("tokenizer.chat_template") else {
                throw ValidationError("\(model) has no chat template (tokenizer.chat_template); chat falls back to a built-in format")
            }
            print(json ? try JSONText.encode(["chat_template": text]) : Format.printable(text, keepingNewlines: true))
            return
        }
        if metadata {
            let listing = MetadataListing(file.metadata)
            print(json ? try JSONText.encode(listing.entries) : listing.report())
            return
        }
        let summary = ModelSummary(file: file, includeTensors: tensors)
        print(json ? try JSONText.encode(summary) : summary.report())
    }
}
