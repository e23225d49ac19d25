import ArgumentParser
import Chat
import ModelStore
import Models
import Sampling

#if canImport(Glibc)
import Glibc
#endif

struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Talk with a model: multi-turn and streaming, reusing the conversation's KV cache.",
        discussion: """
            Commands: /set NAME VALUE (temp, top-k, top-p, min-p, seed, n …), /system TEXT, /clear, \
            /save FILE and /load FILE (the conversation as JSON), /help, /exit (or Ctrl-D). Ctrl-C stops \
            an answer. Line editing and history (Up/Down, kept in $ATELIER_HOME/chat_history); a line \
            ending in \\ continues on the next line. When the context fills up, the oldest exchanges are \
            dropped (with a notice) and the system prompt is kept.
            Non-interactive: `echo "question" | atelier chat MODEL` prints one answer.
            """)

    @Argument(help: "Model name, URL or path (default: \(ModelCatalog.defaultModelName)).")
    var model: String?

    @Option(name: .customLong("system"), help: "System prompt.")
    var systemPrompt: String?

    @Option(
        name: [.customShort("n"), .customLong("n-predict")], parsing: .unconditional,
        help: "Tokens per answer at most (-1: until the model ends its turn or the context is full).")
    var maxTokens: Int = -1

    @OptionGroup var chatFormat: ChatFormatOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if maxTokens < -1 || maxTokens == 0 { throw ValidationError("-n \(maxTokens): expected ≥ 1, or -1 for no limit") }
    }

    func run() throws {
        try Self.converse(
            reference: model ?? ModelCatalog.defaultModelName, systemPrompt: systemPrompt, limit: maxTokens == -1 ? Int.max : maxTokens,
            chatFormat: chatFormat, sampling: sampling, runtime: runtime)
    }

    /// A chat with `reference`: interactive on a terminal, one answer to standard input otherwise.
    /// Also what `atelier run MODEL` opens.
    static func converse(
        reference: String, systemPrompt: String?, limit: Int, chatFormat: ChatFormatOptions, sampling: SamplingOptions,
        runtime: RuntimeOptions
    ) throws {
        let loaded = try runtime.load(reference)
        let session = try runtime.session(for: loaded)
        let format = try chatFormat.format(for: loaded, source: reference)
        let conversation = Conversation(session: session, tokenizer: loaded.tokenizer, format: format, systemPrompt: systemPrompt)

        if let notice = ChatFormatOptions.baseModelNotice(loaded: loaded, format: format, reference: reference) {
            Terminal.status("note: \(notice)")
        } else if case .fallback = format.origin, isatty(0) == 0 {
            Terminal.status("note: \(format.summary)")
        }
        if isatty(0) == 0 {
            var sampler = Sampler(sampling.parameters)
            try answerOnce(conversation, sampler: &sampler, limit: limit)
            return
        }
        Interrupts.install()
        Terminal.status(
            "atelier chat: \(reference), \(format.summary), ctx \(session.contextLength). "
                + "/help for commands, /exit or Ctrl-D to quit, Ctrl-C stops an answer.")
        ChatREPL(conversation: conversation, modelName: reference, parameters: sampling.parameters, limit: limit).loop()
    }

    /// `echo "question" | atelier chat`: the whole input is one message, the answer goes to stdout.
    private static func answerOnce(_ conversation: Conversation, sampler: inout Sampler, limit: Int) throws {
        var input = LineReader()
        let question = input.readAll().trimmingWhitespace
        guard !question.isEmpty else { throw ValidationError("no question on standard input: pipe one in, or run in a terminal to chat") }
        let reply = try conversation.respond(
            to: question, sampler: &sampler, maxTokens: limit,
            onNotice: { Terminal.status("note: \($0)") },
            onText: { piece in
                Terminal.write(piece)
                return true
            })
        Terminal.write("\n")
        ChatREPL.report(reply.stopReason, limit: limit)
    }
}

extension String {
    var trimmingWhitespace: String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
