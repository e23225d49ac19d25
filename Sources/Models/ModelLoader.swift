import Adapters
import Compute
import GGUF
import Tokenizers

/// A model file opened for inference: the architecture chosen by `general.architecture`,
/// its tokenizer, and the backend it runs on.
public struct LoadedModel: Sendable {
    public let file: GGUFFile
    public let model: any LanguageModel
    public let tokenizer: any Tokenizer
}

public enum ModelLoader {
    public static let supportedArchitectures = Llama.architectures.union(Gemma3.architectures).sorted()

    /// `adapters`: LoRA adapters applied at run time, each with its user scale (`--lora-scale`).
    public static func load(
        path: String, backend: any ComputeBackend, adapters: [(adapter: LoRAAdapter, scale: Float)] = []
    ) throws -> LoadedModel {
        try load(file: try GGUFFile(path: path), backend: backend, adapters: adapters)
    }

    /// Builds the model of an opened file. Everything taken from the file is checked before it is
    /// used: hyperparameters against `HyperparameterLimits`, every tensor's type and shape against
    /// its role (`TensorRole`), so a file that parses either loads and runs or is refused by name.
    /// Adapters are checked against the file (`LoRAAdapter.validate`) before any weight is loaded.
    public static func load(
        file: GGUFFile, backend: any ComputeBackend, adapters: [(adapter: LoRAAdapter, scale: Float)] = []
    ) throws -> LoadedModel {
        let path = file.source
        guard let architecture = file.metadata.architecture else {
            throw ModelError("\(path): general.architecture is missing; cannot tell which model this is")
        }
        guard supportedArchitectures.contains(architecture) else {
            throw ModelError(
                "\(path): architecture \"\(architecture)\" is not supported (supported: \(supportedArchitectures.joined(separator: ", ")))")
        }
        do {
            for (adapter, _) in adapters { try adapter.validate(against: file) }
        } catch let error as AdapterError {
            throw ModelError(error.description)
        }
        let tokenizer = try TokenizerLoader.load(from: file.metadata)
        let configuration = try ModelConfiguration(metadata: file.metadata, source: path, vocabularySize: tokenizer.vocabularySize)
        if let embedding = file.tensor(named: "token_embd.weight"), embedding.rowCount != Int64(tokenizer.vocabularySize) {
            throw ModelError(
                "\(path): the tokenizer has \(tokenizer.vocabularySize) tokens (tokenizer.ggml.tokens) but token_embd.weight "
                    + "\(embedding.dimensions) has \(embedding.rowCount) rows; they must be equal")
        }
        let model: any LanguageModel =
            Gemma3.architectures.contains(architecture)
            ? try Gemma3(file: file, configuration: configuration, backend: backend, adapters: adapters)
            : try Llama(file: file, configuration: configuration, backend: backend, adapters: adapters)
        // Weights live in the backend's own memory now; pages mapped while loading (metadata,
        // tensors read for copying) leave the resident set.
        if backend.copiesWeights { file.releaseMappedPages() }
        return LoadedModel(file: file, model: model, tokenizer: tokenizer)
    }
}
