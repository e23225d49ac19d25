/// Public API: a parsed chat template (a Jinja2 subset) that renders conversations.
///
/// Whitespace rules follow Jinja2 as configured by Hugging Face transformers, which renders chat
/// templates with `Environment(trim_blocks=True, lstrip_blocks=True)` (see
/// `transformers.utils.chat_template_utils._compile_jinja_template`): the first newline after a
/// block or comment tag is removed, spaces/tabs before a block or comment tag at the start of a
/// line are removed, and Jinja's default `keep_trailing_newline=False` drops one trailing newline
/// of the source. `tojson` follows plain jinja2 (sorted keys, ASCII + HTML-safe escapes).

public struct ChatMessage: Sendable, Equatable {
    public var role: String
    public var content: String
    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

public struct ChatTemplateError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The template source is malformed.
        case syntax
        /// The template uses a filter, test, tag, method or operation this interpreter lacks.
        case unsupported
        /// Evaluation failed (type error, undefined attribute access, ...).
        case runtime
        /// The template called `raise_exception(message)`.
        case raised
    }
    public var kind: Kind
    public var message: String
    public var line: Int?

    public init(kind: Kind, message: String, line: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
    }

    public var description: String {
        switch kind {
        case .raised: return "template raised an exception: \(message)" + (line.map { " (line \($0))" } ?? "")
        default: return message + (line.map { " at line \($0)" } ?? "")
        }
    }
}

public struct ChatTemplate: Sendable {
    let body: [Stmt]

    /// Parses the template once; throws `ChatTemplateError` naming what is wrong and where.
    public init(source: String) throws {
        var lexer = Lexer(source: source)
        let tokens = try lexer.tokenize()
        var parser = Parser(tokens: tokens)
        body = try parser.parseTemplate()
    }

    public func render(messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String, eosToken: String) throws -> String {
        let msgs: [Value] = messages.map { m in
            .dict(Dict([("role", .string(m.role)), ("content", .string(m.content))]))
        }
        return try render(variables: [
            "messages": .list(msgs),
            "add_generation_prompt": .bool(addGenerationPrompt),
            "bos_token": .string(bosToken),
            "eos_token": .string(eosToken),
        ])
    }

    func render(variables: [String: Value]) throws -> String {
        let ev = Evaluator(globals: variables)
        try ev.exec(body)
        return ev.output
    }
}
