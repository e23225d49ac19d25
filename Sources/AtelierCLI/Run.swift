import ArgumentParser
import Chat
import ChatTemplates
import ModelInspection
import ModelStore
import Models
import Sampling
import Tokenizers

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a prompt with a model, streaming the text; a stats line goes to stderr.",
        discussion: """
            `atelier run MODEL PROMPT` continues PROMPT. With only a prompt the model is \(ModelCatalog.defaultModelName) \
            (pulled if missing); with only a model (a stored or built-in name, a .gguf path, a URL) it opens `atelier chat`, \
            as `ollama run` does. The prompt can come from a file or standard input: -f FILE, -f -, or a prompt of `-`. \
            With --chat the prompt is a user message put through the model's chat template, and only the answer is printed. \
            Ctrl-C stops the generation and still prints the stats line.
            """)

    @Argument(help: "[MODEL] PROMPT")
    var arguments: [String] = []

    @Option(name: [.customShort("f"), .customLong("file")], help: "Read the prompt from this file (- for standard input).")
    var promptFile: String?

    @Option(
        name: [.customShort("n"), .customLong("n-predict")], parsing: .unconditional,
        help: "Tokens to generate at most (-1: until the end-of-text token or the context is full).")
    var maxTokens: Int = 256

    @Flag(name: .customLong("chat"), help: "Treat the prompt as a chat message: apply the model's chat template and print the answer.")
    var chat = false

    @Option(name: .customLong("system"), help: "With --chat: the system prompt.")
    var systemPrompt: String?

    @Flag(name: .customLong("no-bos"), help: "Do not add the BOS token even if the model asks for it.")
    var noBOS = false

    @OptionGroup var chatFormat: ChatFormatOptions
    @OptionGroup var sampling: SamplingOptions
    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        if promptFile != nil {
            guard arguments.count <= 1 else {
                throw ValidationError("with -f the only argument is the model; got \(arguments.count) arguments")
            }
        } else {
            guard (1...2).contains(arguments.count) else {
                throw ValidationError("expected a prompt, a model, or a model and a prompt; got \(arguments.count) arguments")
            }
        }
        if maxTokens < -1 { throw ValidationError("-n \(maxTokens): expected ≥ 0, or -1 for no limit") }
        if systemPrompt != nil && !chat && !opensChat { throw ValidationError("--system needs --chat") }
        if chatFormat.chatTemplate != nil && !chat && !opensChat { throw ValidationError("--chat-template needs --chat") }
    }

    /// `atelier run MODEL` with no prompt: the lone argument names a model, so it opens a chat.
    private var opensChat: Bool { promptFile == nil && arguments.count == 1 && ModelStore().recognizes(arguments[0]) }

    func run() throws {
        if opensChat {
            try ChatCommand.converse(
                reference: arguments[0], systemPrompt: systemPrompt, limit: maxTokens == -1 ? Int.max : max(maxTokens, 1),
                chatFormat: chatFormat, sampling: sampling, runtime: runtime)
            return
        }
        let model = arguments.count == 2 || (promptFile != nil && arguments.count == 1) ? arguments[0] : ModelCatalog.defaultModelName
        let prompt = try readPrompt()
        guard !prompt.isEmpty else { throw ValidationError("the prompt is empty; give some text to continue") }
        let loaded = try runtime.load(model)
        let session = try runtime.session(for: loaded)
        let tokenizer = loaded.tokenizer

        let ids: [Int32]
        if chat {
            let format = try chatFormat.format(for: loaded, source: model)
            if case .fallback = format.origin { Terminal.status("note: \(format.summary)") }
            let messages =
                (systemPrompt.map { [ChatMessage(role: "system", content: $0)] } ?? [])
                + [ChatMessage(role: "user", content: prompt)]
            ids = format.encode(try format.render(messages), messages: messages, tokenizer: tokenizer)
        } else {
            ids = tokenizer.encode(prompt, addBOS: tokenizer.addsBOS && !noBOS, parseSpecialTokens: true)
        }

        let parameters = sampling.parameters
        var sampler = Sampler(parameters)
        var decoder = IncrementalDecoder(tokenizer: tokenizer)
        guard ids.count < session.contextLength else {
            throw ValidationError(
                "the prompt has \(ids.count) tokens but the context holds \(session.contextLength); use a larger --ctx or a shorter prompt")
        }
        if !chat { Terminal.write(prompt) }
        Interrupts.install()
        let limit = maxTokens == -1 ? Int.max : maxTokens
        let stats = try session.generate(prompt: ids, maxTokens: limit, sampler: &sampler, tokenizer: tokenizer) { token in
            Terminal.write(decoder.push(token))
            return !Interrupts.isRequested
        }
        Terminal.write(decoder.flush() + "\n")
        if Interrupts.take() { Terminal.status("(stopped by Ctrl-C)") }
        let peak = Terminal.peakResidentBytes().map { Format.bytes($0) } ?? "?"
        Terminal.status(
            "prompt: \(stats.promptTokens) tokens, \(Format.fixed(stats.promptTokensPerSecond, 1)) t/s | "
                + "generation: \(stats.generatedTokens) tokens, \(Format.fixed(stats.generationTokensPerSecond, 1)) t/s | "
                + "peak memory: \(peak) | seed \(parameters.seed) | \(loaded.model.backend.name), ctx \(session.contextLength)")
    }

    /// The prompt argument, or the text of -f FILE; `-` (as either) reads standard input to its end.
    private func readPrompt() throws -> String {
        let source = promptFile ?? arguments.last!
        if promptFile == nil && source != "-" { return source }
        if source == "-" {
            var input = LineReader()
            return input.readAll()
        }
        return try readTextFile(source)
    }
}
