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
        /// The template went past one of its `RenderLimits` (size, iterations, nesting, time, or an
        /// integer that does not fit 64 bits); the message names which.
        case limitExceeded
    }
    public var kind: Kind
    public var message: String
    public var line: Int?
    /// The column (1-based, in Unicode scalars) where the parser knows it.
    public var column: Int?

    public init(kind: Kind, message: String, line: Int? = nil, column: Int? = nil) {
        self.kind = kind
        self.message = message
        self.line = line
        self.column = column
    }

    public var description: String {
        let place = line.map { l in column.map { "line \(l), column \($0)" } ?? "line \(l)" }
        switch kind {
        case .raised: return "template raised an exception: \(message)" + (place.map { " (\($0))" } ?? "")
        default: return message + (place.map { " at \($0)" } ?? "")
        }
    }
}

public struct ChatTemplate: Sendable {
    let body: [Stmt]

    /// Parses the template once; throws `ChatTemplateError` naming what is wrong and where. Nesting
    /// deeper than `maxNestingDepth` (tags, parentheses, operator chains) is rejected before the
    /// parser recurses into it.
    public init(source: String, maxNestingDepth: Int = RenderLimits.standard.maxNestingDepth) throws {
        var lexer = Lexer(source: source)
        let tokens = try lexer.tokenize()
        var parser = Parser(tokens: tokens, maxDepth: maxNestingDepth)
        body = try parser.parseTemplate()
    }

    /// Renders a conversation within `limits` (scaled for the conversation's size, see
    /// `RenderLimits.scaled(forInputBytes:)`); past a limit it throws a `.limitExceeded` error.
    public func render(
        messages: [ChatMessage], addGenerationPrompt: Bool, bosToken: String, eosToken: String, limits: RenderLimits = .standard
    ) throws -> String {
        var inputBytes = bosToken.utf8.count + eosToken.utf8.count
        let msgs: [Value] = messages.map { m in
            inputBytes += m.role.utf8.count + m.content.utf8.count
            return .dict(Dict([("role", .string(m.role)), ("content", .string(m.content))]))
        }
        return try render(
            variables: [
                "messages": .list(msgs),
                "add_generation_prompt": .bool(addGenerationPrompt),
                "bos_token": .string(bosToken),
                "eos_token": .string(eosToken),
            ], limits: limits.scaled(forInputBytes: inputBytes))
    }

    func render(variables: [String: Value], limits: RenderLimits = .standard) throws -> String {
        let ev = Evaluator(globals: variables, budget: RenderBudget(limits: limits))
        try ev.exec(body)
        return ev.output
    }
}
