import ArgumentParser
import ModelInspection
import ModelStore

struct Pull: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract:
            "Download a model into the store: a built-in name, a Hugging Face repository, an http(s) URL to a .gguf, or a local .gguf path.",
        discussion: """
            A Hugging Face repository is written hf.co/USER/REPO[:QUANT] (also huggingface.co/…, https://huggingface.co/…, \
            or USER/REPO:QUANT). Its GGUF file whose name carries QUANT is downloaded (default Q4_K_M, then the next usual \
            quantization present) and stored as REPO-QUANT, lowercased without a trailing -GGUF (e.g. qwen2.5-0.5b-instruct-q4_k_m). \
            HF_ENDPOINT sets the Hub's address (default https://huggingface.co); HF_TOKEN is sent as a Bearer token for private \
            or gated repositories.
            """)

    @Argument(help: "smollm2-135m, gemma3-270m, hf.co/USER/REPO[:QUANT], https://…/model.gguf, or ./model.gguf")
    var reference: String

    @Option(name: .customLong("as"), help: "Store it under this name (lowercase letters, digits, '.', '_', '-').")
    var name: String?

    func run() throws {
        let store = ModelStore()
        let model = try store.pull(reference, as: name, progress: TerminalProgress())
        print("\(model.name): \(Format.bytes(model.sizeBytes)) at \(model.path)")
    }
}

struct ListModels: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the models in the store (the table shortens long sources; --json has them in full).")

    @Flag(help: "Print JSON, with each model's full source.")
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
                models.map { [$0.name, $0.architecture ?? "?", $0.quantization ?? "?", Format.bytes($0.sizeBytes), $0.shortSource] },
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
