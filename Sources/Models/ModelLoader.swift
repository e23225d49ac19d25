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

    public static func load(path: String, backend: any ComputeBackend) throws -> LoadedModel {
        let file = try GGUFFile(path: path)
        guard let architecture = file.metadata.architecture else {
            throw ModelError("\(path): general.architecture is missing; cannot tell which model this is")
        }
        guard supportedArchitectures.contains(architecture) else {
            throw ModelError(
                "\(path): architecture \"\(architecture)\" is not supported (supported: \(supportedArchitectures.joined(separator: ", ")))")
        }
        let tokenizer = try TokenizerLoader.load(from: file.metadata)
        let configuration = try ModelConfiguration(metadata: file.metadata, source: path, vocabularySize: tokenizer.vocabularySize)
        let model: any LanguageModel =
            Gemma3.architectures.contains(architecture)
            ? try Gemma3(file: file, configuration: configuration, backend: backend)
            : try Llama(file: file, configuration: configuration, backend: backend)
        // Weights live in the backend's own memory now; pages mapped while loading (metadata,
        // tensors read for copying) leave the resident set.
        if backend.copiesWeights { file.releaseMappedPages() }
        return LoadedModel(file: file, model: model, tokenizer: tokenizer)
    }
}
