import ArgumentParser
import ModelInspection
import ModelStore

struct Pull: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download a model into the store: a built-in name, an http(s) URL to a .gguf, or a local .gguf path.")

    @Argument(help: "smollm2-135m, gemma3-270m, https://…/model.gguf, or ./model.gguf")
    var reference: String

    @Option(name: .customLong("as"), help: "Store it under this name (letters, digits, '.', '_', '-').")
    var name: String?

    func run() throws {
        let store = ModelStore()
        let model = try store.pull(reference, as: name, progress: TerminalProgress())
        print("\(model.name): \(Format.bytes(model.sizeBytes)) at \(model.path)")
    }
}

struct ListModels: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the models in the store.")

    @Flag(help: "Print JSON.")
    var json = false

    func run() throws {
        let store = ModelStore()
        let models = try store.list()
        if json {
            print(try JSONText.encode(models))
            return
        }
        if models.isEmpty {
            print("No models in \(store.root). Try: atelier pull \(ModelCatalog.defaultModelName)")
            return
        }
        print(
            Format.table(
                ["NAME", "ARCHITECTURE", "QUANT", "SIZE", "SOURCE"],
                models.map { [$0.name, $0.architecture ?? "?", $0.quantization ?? "?", Format.bytes($0.sizeBytes), $0.source] },
                rightAligned: [3]))
    }
}

struct Remove: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a model from the store.")

    @Argument(help: "The model's name, as `atelier list` shows it.")
    var names: [String]

    func run() throws {
        let store = ModelStore()
        for name in names {
            try store.remove(name)
            print("removed \(name)")
        }
    }
}
