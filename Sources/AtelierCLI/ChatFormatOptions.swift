import ArgumentParser
import Chat
import ModelStore
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

extension ChatFormatOptions {
    /// A model without a chat template whose names say nothing of instruction tuning is most likely
    /// a base model: it continues text instead of answering, so the user hears it before chatting.
    static func baseModelNotice(loaded: LoadedModel, format: ChatFormat, reference: String) -> String? {
        guard case .fallback = format.origin else { return nil }
        let metadata = loaded.file.metadata
        let names =
            ["general.name", "general.finetune", "general.basename", "general.type"].compactMap { metadata.string($0) } + [reference]
        let tuned = ["instruct", "chat", "-it", "_it", " it", "it-", "sft", "dpo", "rlhf", "assistant"]
        if names.contains(where: { name in tuned.contains { name.lowercased().contains($0) } }) { return nil }
        return "\(reference) has no chat template and looks like a base model: it continues text rather than answering, "
            + "so its replies may wander (\(format.summary)). For answers use an instruction-tuned model such as "
            + "\(ModelCatalog.defaultModelName); to continue text use `atelier run \(reference) \"…\"`."
    }
}
