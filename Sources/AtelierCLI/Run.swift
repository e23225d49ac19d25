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
            With one argument it is the prompt and the model is \(ModelCatalog.defaultModelName) (pulled if missing). \
            With --chat the prompt is a user message put through the model's chat template, and only the answer is printed.
            """)

    @Argument(help: "[MODEL] PROMPT")
    var arguments: [String]

    @Option(name: [.customShort("n"), .customLong("n-predict")], help: "Tokens to generate at most.")
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
        guard (1...2).contains(arguments.count) else {
            throw ValidationError("expected a prompt, or a model and a prompt; got \(arguments.count) arguments")
        }
        if maxTokens < 0 { throw ValidationError("-n \(maxTokens): expected ≥ 0") }
        if systemPrompt != nil && !chat { throw ValidationError("--system needs --chat") }
        if chatFormat.chatTemplate != nil && !chat { throw ValidationError("--chat-template needs --chat") }
    }

    func run() throws {
        let model = arguments.count == 2 ? arguments[0] : ModelCatalog.defaultModelName
        let prompt = arguments.last!
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
            ids = format.encode(try format.render(messages), tokenizer: tokenizer)
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
        let stats = try session.generate(prompt: ids, maxTokens: maxTokens, sampler: &sampler, tokenizer: tokenizer) { token in
            Terminal.write(decoder.push(token))
            return true
        }
        Terminal.write(decoder.flush() + "\n")
        let peak = Terminal.peakResidentBytes().map { Format.bytes($0) } ?? "?"
        Terminal.status(
            "prompt: \(stats.promptTokens) tokens, \(Format.fixed(stats.promptTokensPerSecond, 1)) t/s | "
                + "generation: \(stats.generatedTokens) tokens, \(Format.fixed(stats.generationTokensPerSecond, 1)) t/s | "
                + "peak memory: \(peak) | seed \(parameters.seed) | \(loaded.model.backend.name), ctx \(session.contextLength)")
    }
}
