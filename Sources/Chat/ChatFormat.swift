import ChatTemplates
import GGUF
import Tokenizers

/// How a conversation becomes the text a model was trained on: the model's own
/// `tokenizer.chat_template` when it has one, else its architecture's known turn format.
public struct ChatFormat: Sendable {
    public enum Origin: Sendable, Equatable {
        /// `tokenizer.chat_template` from the GGUF file, rendered exactly as jinja2 would.
        case model
        /// The file carries no template; `name` says which built-in format stands in.
        case fallback(name: String)
        /// The user chose the format (`--chat-template`): a built-in name or a template file.
        case chosen(name: String)
    }

    /// Formats that need no template from the file, by the names `--chat-template` accepts.
    public static let builtInNames = ["chatml", "gemma"]

    public let template: ChatTemplate
    public let origin: Origin
    public let bosToken: String
    public let eosToken: String

    public init(template: ChatTemplate, origin: Origin, bosToken: String, eosToken: String) {
        self.template = template
        self.origin = origin
        self.bosToken = bosToken
        self.eosToken = eosToken
    }

    /// The model's template, or the fallback for its architecture (Gemma turns for gemma*,
    /// ChatML otherwise — the format most instruction-tuned GGUF models without a template use).
    public init(metadata: GGUFMetadata, tokenizer: any Tokenizer, source: String) throws {
        let bos = Self.bos(tokenizer), eos = Self.eos(tokenizer)
        if let text = metadata.string("tokenizer.chat_template"), !text.isEmpty {
            do {
                self.init(template: try ChatTemplate(source: text), origin: .model, bosToken: bos, eosToken: eos)
            } catch {
                throw ChatError("\(source): tokenizer.chat_template cannot be used: \(error)")
            }
            return
        }
        let name = (metadata.architecture ?? "").hasPrefix("gemma") ? "gemma" : "chatml"
        self.init(template: BuiltInTemplates.template(named: name)!, origin: .fallback(name: name), bosToken: bos, eosToken: eos)
    }

    /// A built-in format by name (`builtInNames`), for models whose own template is missing or unwanted.
    public init(builtIn name: String, tokenizer: any Tokenizer) throws {
        guard let template = BuiltInTemplates.template(named: name) else {
            throw ChatError(
                "unknown chat format \"\(name)\"; built in: \(Self.builtInNames.joined(separator: ", ")), or give a Jinja template file")
        }
        self.init(template: template, origin: .chosen(name: name), bosToken: Self.bos(tokenizer), eosToken: Self.eos(tokenizer))
    }

    /// A Jinja template given as text (for example read from a file named `name`).
    public init(templateSource: String, name: String, tokenizer: any Tokenizer) throws {
        do {
            self.init(
                template: try ChatTemplate(source: templateSource), origin: .chosen(name: name),
                bosToken: Self.bos(tokenizer), eosToken: Self.eos(tokenizer))
        } catch {
            throw ChatError("\(name): \(error)")
        }
    }

    private static func bos(_ tokenizer: any Tokenizer) -> String { tokenizer.bosTokenID.map { tokenizer.tokenText($0) } ?? "" }
    private static func eos(_ tokenizer: any Tokenizer) -> String { tokenizer.eosTokenID.map { tokenizer.tokenText($0) } ?? "" }

    /// The conversation as model input, ending with the assistant's turn opener when
    /// `addGenerationPrompt` is set.
    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool = true) throws -> String {
        do {
            return try template.render(messages: messages, addGenerationPrompt: addGenerationPrompt, bosToken: bosToken, eosToken: eosToken)
        } catch {
            throw ChatError("the chat template failed: \(error)")
        }
    }

    /// Token ids of `rendered`, the rendering of `messages` (with `addGenerationPrompt` as given
    /// to `render`). Special tokens are parsed in the template's text only: the messages' contents
    /// are text, so a message cannot open a turn of its own (`RenderedPrompt`). Templates usually
    /// write the BOS text themselves; BOS is added only when the model asks for it and the text
    /// does not already start with it.
    public func encode(_ rendered: String, messages: [ChatMessage], addGenerationPrompt: Bool = true, tokenizer: any Tokenizer) -> [Int32] {
        let (prompt, addBOS) = locate(rendered, messages: messages, addGenerationPrompt: addGenerationPrompt, tokenizer: tokenizer)
        return prompt.tokens(tokenizer: tokenizer, addBOS: addBOS)
    }

    /// `messages` rendered, with where each content lies in the text, and whether BOS goes before
    /// it: what `encode(_:messages:addGenerationPrompt:tokenizer:)` tokenizes, for callers that need
    /// to know which tokens carry which message (fine-tuning trains on the assistant's only).
    public func renderedPrompt(_ messages: [ChatMessage], addGenerationPrompt: Bool, tokenizer: any Tokenizer) throws -> (
        prompt: RenderedPrompt, addBOS: Bool
    ) {
        locate(
            try render(messages, addGenerationPrompt: addGenerationPrompt), messages: messages, addGenerationPrompt: addGenerationPrompt,
            tokenizer: tokenizer)
    }

    private func locate(_ rendered: String, messages: [ChatMessage], addGenerationPrompt: Bool, tokenizer: any Tokenizer) -> (
        prompt: RenderedPrompt, addBOS: Bool
    ) {
        let prompt = RenderedPrompt(text: rendered, messages: messages) { try? render($0, addGenerationPrompt: addGenerationPrompt) }
        return (prompt, tokenizer.addsBOS && !startsWithBOS(rendered))
    }

    /// Token ids of rendered text whose every part is trusted: special-token texts anywhere in it
    /// become special tokens. Conversations with messages from elsewhere use
    /// `encode(_:messages:addGenerationPrompt:tokenizer:)`.
    public func encode(_ rendered: String, tokenizer: any Tokenizer) -> [Int32] {
        tokenizer.encode(rendered, addBOS: tokenizer.addsBOS && !startsWithBOS(rendered), parseSpecialTokens: true)
    }

    private func startsWithBOS(_ rendered: String) -> Bool { !bosToken.isEmpty && rendered.hasPrefix(bosToken) }

    /// One line for the user: where the format comes from.
    public var summary: String {
        switch origin {
        case .model: return "chat template from the model file"
        case .fallback(let name): return "the model file has no chat template; using the built-in \(name) format"
        case .chosen(let name): return "chat format \(name) (--chat-template)"
        }
    }
}

/// Formats used when a model file has no `tokenizer.chat_template`.
enum BuiltInTemplates {
    static func template(named name: String) -> ChatTemplate? {
        switch name {
        // The sources are constants tested to parse; a failure here is a programming error.
        case "chatml": return try! ChatTemplate(source: chatML)
        case "gemma": return try! ChatTemplate(source: gemmaTurns)
        default: return nil
        }
    }

    /// `<|im_start|>role\ncontent<|im_end|>\n` per message.
    static let chatML = """
        {%- for message in messages -%}
        {{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' -}}
        {%- endfor -%}
        {%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}
        """

    /// Gemma's turns: BOS, then `<start_of_turn>user|model\n…<end_of_turn>\n`; Gemma has no
    /// system role, so a system message is put at the start of the first user turn, as
    /// Google's Gemma 3 template does.
    static let gemmaTurns = """
        {{- bos_token -}}
        {%- set ns = namespace(prefix='') -%}
        {%- for message in messages -%}
        {%- if message['role'] == 'system' -%}
        {%- set ns.prefix = message['content'] + '\\n\\n' -%}
        {%- else -%}
        {%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}
        {{- '<start_of_turn>' + role + '\\n' + ns.prefix + (message['content'] | trim) + '<end_of_turn>\\n' -}}
        {%- set ns.prefix = '' -%}
        {%- endif -%}
        {%- endfor -%}
        {%- if add_generation_prompt -%}{{- '<start_of_turn>model\\n' -}}{%- endif -%}
        """
}

public struct ChatError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
