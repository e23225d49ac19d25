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
            Commands: /clear forgets the conversation (the system prompt stays), /system TEXT sets the \
            system prompt (/system alone removes it), /help, /exit (or Ctrl-D). Ctrl-C stops an answer. \
            A line ending in \\ continues on the next line. When the context fills up, the oldest \
            exchanges are dropped (with a notice) and the system prompt is kept.
            Non-interactive: `echo "question" | atelier chat MODEL` prints one answer.
            """)

    @Argument(help: "Model name, URL or path (default: \(ModelCatalog.defaultModelName)).")
    var model: String?

    @Option(name: .customLong("system"), help: "System prompt.")
    var systemPrompt: String?

    @Option(
        name: [.customShort("n"), .customLong("n-predict")],
        help: "Tokens per answer at most (-1: until the model ends its turn or the context is full).")
    var maxTokens: Int = -1

    @OptionGroup var chatFormat: ChatFormatOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if maxTokens < -1 || maxTokens == 0 { throw ValidationError("-n \(maxTokens): expected ≥ 1, or -1 for no limit") }
    }

    func run() throws {
        let reference = model ?? ModelCatalog.defaultModelName
        let loaded = try runtime.load(reference)
        let session = try runtime.session(for: loaded)
        let format = try chatFormat.format(for: loaded, source: reference)
        let conversation = Conversation(session: session, tokenizer: loaded.tokenizer, format: format, systemPrompt: systemPrompt)
        var sampler = Sampler(sampling.parameters)
        let limit = maxTokens == -1 ? Int.max : maxTokens

        if isatty(0) == 0 {
            if case .fallback = format.origin { Terminal.status("note: \(format.summary)") }
            try answerOnce(conversation, sampler: &sampler, limit: limit)
            return
        }
        Interrupts.install()
        Terminal.status(
            "atelier chat: \(reference), \(format.summary), ctx \(session.contextLength). "
                + "/help for commands, /exit or Ctrl-D to quit, Ctrl-C stops an answer.")
        var input = LineReader()
        while let message = readMessage(&input) {
            if message.hasPrefix("/") {
                guard handleCommand(message, conversation) else { return }
                continue
            }
            respond(to: message, conversation, sampler: &sampler, limit: limit)
        }
    }

    /// `echo "question" | atelier chat`: the whole input is one message, the answer goes to stdout.
    private func answerOnce(_ conversation: Conversation, sampler: inout Sampler, limit: Int) throws {
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
        report(reply.stopReason, limit: limit)
    }

    /// The next message from the terminal (lines ending in `\` continue), or nil at end of input.
    private func readMessage(_ input: inout LineReader) -> String? {
        var parts: [String] = []
        Terminal.write("> ")
        while true {
            switch input.nextLine() {
            case .endOfInput:
                Terminal.write("\n")
                return nil
            case .interrupted:
                Terminal.write("\n")
                Terminal.status("(Ctrl-C stops an answer; /exit or Ctrl-D quits)")
                parts.removeAll()
                Terminal.write("> ")
            case .line(let line):
                if line.hasSuffix("\\") {
                    parts.append(String(line.dropLast()))
                    Terminal.write(". ")
                    continue
                }
                parts.append(line)
                let message = parts.joined(separator: "\n").trimmingWhitespace
                if message.isEmpty {
                    parts.removeAll()
                    Terminal.write("> ")
                    continue
                }
                return message
            }
        }
    }

    /// Runs a /command; false means quit.
    private func handleCommand(_ line: String, _ conversation: Conversation) -> Bool {
        let name = String(line.prefix { $0 != " " && $0 != "\n" })
        let argument = String(line.dropFirst(name.count)).trimmingWhitespace
        switch name {
        case "/exit", "/quit", "/bye":
            return false
        case "/clear":
            conversation.clear()
            Terminal.status("(conversation cleared)")
        case "/system":
            conversation.systemPrompt = argument.isEmpty ? nil : argument
            Terminal.status(argument.isEmpty ? "(system prompt removed)" : "(system prompt set)")
        case "/help":
            Terminal.status(
                "/clear  forget the conversation (the system prompt stays)\n"
                    + "/system TEXT  set the system prompt; /system alone removes it\n"
                    + "/exit  quit (also /quit, /bye, Ctrl-D)\n"
                    + "Ctrl-C stops an answer; a line ending in \\ continues on the next line")
        default:
            Terminal.status("unknown command \(name); /help lists the commands")
        }
        return true
    }

    private func respond(to message: String, _ conversation: Conversation, sampler: inout Sampler, limit: Int) {
        _ = Interrupts.take()
        do {
            let reply = try conversation.respond(
                to: message, sampler: &sampler, maxTokens: limit,
                onNotice: { Terminal.status("(\($0))") },
                onText: { piece in
                    Terminal.write(piece)
                    return !Interrupts.isRequested
                })
            Terminal.write("\n")
            report(reply.stopReason, limit: limit)
        } catch {
            Terminal.write("\n")
            Terminal.status("error: \(error)")
        }
        _ = Interrupts.take()
    }

    private func report(_ reason: Conversation.StopReason, limit: Int) {
        switch reason {
        case .endOfTurn: break
        case .interrupted: Terminal.status("(answer stopped)")
        case .tokenLimit: Terminal.status("(answer cut at -n \(limit) tokens)")
        case .contextFull: Terminal.status("(context full: answer cut; the oldest exchanges will be dropped next turn)")
        }
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
