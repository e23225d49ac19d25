import ArgumentParser
import Chat
import Models

#if canImport(Glibc)
import Glibc
#endif

/// `--chat-template`, shared by `chat` and `run --chat`.
struct ChatFormatOptions: ParsableArguments {
    @Option(
        name: .customLong("chat-template"),
        help:
            "Chat format instead of the model's own template: \(ChatFormat.builtInNames.joined(separator: ", ")), or a Jinja template file."
    )
    var chatTemplate: String?

    func format(for loaded: LoadedModel, source: String) throws -> ChatFormat {
        switch chatTemplate {
        case nil:
            return try ChatFormat(metadata: loaded.file.metadata, tokenizer: loaded.tokenizer, source: source)
        case let name? where ChatFormat.builtInNames.contains(name):
            return try ChatFormat(builtIn: name, tokenizer: loaded.tokenizer)
        case let name? where !name.contains("/") && !name.contains(".") && access(name, F_OK) != 0:
            return try ChatFormat(builtIn: name, tokenizer: loaded.tokenizer)  // an unknown name: the error lists the built-ins
        case let path?:
            return try ChatFormat(templateSource: try readTextFile(path), name: path, tokenizer: loaded.tokenizer)
        }
    }
}
