import ArgumentParser
import ModelInspection
import ModelStore
import Models
import Sampling
import Tokenizers
#if canImport(Glibc)
import Glibc
#endif

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Continue a prompt with a model, streaming the text; a stats line goes to stderr.",
        discussion: "With one argument it is the prompt and the model is \(ModelCatalog.defaultModelName) (pulled if missing).")

    @Argument(help: "[MODEL] PROMPT")
    var arguments: [String]

    @Option(name: [.customShort("n"), .customLong("n-predict")], help: "Tokens to generate at most.")
    var maxTokens: Int = 256

    @Option(name: .customLong("temp"), help: "Temperature; 0 is greedy.")
    var temperature: Float = 0.8
    @Option(name: .customLong("top-k"), help: "Keep the k most likely tokens (0 = off).")
    var topK: Int = 40
    @Option(name: .customLong("top-p"), help: "Keep the smallest set whose probability reaches p (1 = off).")
    var topP: Float = 0.95
    @Option(name: .customLong("min-p"), help: "Drop tokens less likely than min-p × the most likely (0 = off).")
    var minP: Float = 0.05
    @Option(name: .customLong("repeat-penalty"), help: "Penalise repeated tokens (1 = off).")
    var repetitionPenalty: Float = 1
    @Option(name: .customLong("repeat-last-n"), help: "Tokens the penalties look back over.")
    var penaltyWindow: Int = 64
    @Option(name: .customLong("frequency-penalty"), help: "Subtract this × the token's count so far.")
    var frequencyPenalty: Float = 0
    @Option(name: .customLong("presence-penalty"), help: "Subtract this from tokens already present.")
    var presencePenalty: Float = 0
    @Option(name: .customLong("seed"), help: "Random seed; the same seed gives the same text (default: random, printed in the stats).")
    var seed: UInt64?

    @Flag(name: .customLong("no-bos"), help: "Do not add the BOS token even if the model asks for it.")
    var noBOS = false

    @OptionGroup var runtime: RuntimeOptions

    func validate() throws {
        guard (1...2).contains(arguments.count) else {
            throw ValidationError("expected a prompt, or a model and a prompt; got \(arguments.count) arguments")
        }
        if maxTokens < 0 { throw ValidationError("-n \(maxTokens): expected ≥ 0") }
        try sampling.validate()
    }

    var sampling: SamplingParameters {
        var p = SamplingParameters()
        p.temperature = temperature
        p.topK = topK
        p.topP = topP
        p.minP = minP
        p.repetitionPenalty = repetitionPenalty
        p.penaltyWindow = penaltyWindow
        p.frequencyPenalty = frequencyPenalty
        p.presencePenalty = presencePenalty
        p.seed = seed ?? UInt64(truncatingIfNeeded: ContinuousClock.now.hashValue) ^ UInt64(getpid())
        return p
    }

    func run() throws {
        let model = arguments.count == 2 ? arguments[0] : ModelCatalog.defaultModelName
        let prompt = arguments.last!
        guard !prompt.isEmpty else { throw ValidationError("the prompt is empty; give some text to continue") }
        let loaded = try runtime.load(model)
        let session = try runtime.session(for: loaded)
        let tokenizer = loaded.tokenizer
        let ids = tokenizer.encode(prompt, addBOS: tokenizer.addsBOS && !noBOS, parseSpecialTokens: true)

        let parameters = sampling
        var sampler = Sampler(parameters)
        var decoder = IncrementalDecoder(tokenizer: tokenizer)
        guard ids.count < session.contextLength else {
            throw ValidationError("the prompt has \(ids.count) tokens but the context holds \(session.contextLength); use a larger --ctx or a shorter prompt")
        }
        Terminal.write(prompt)
        let stats = try session.generate(prompt: ids, maxTokens: maxTokens, sampler: &sampler, tokenizer: tokenizer) { token in
            Terminal.write(decoder.push(token))
            return true
        }
        Terminal.write(decoder.flush() + "\n")
        let peak = Terminal.peakResidentBytes().map { Format.bytes($0) } ?? "?"
        Terminal.status("prompt: \(stats.promptTokens) tokens, \(Format.fixed(stats.promptTokensPerSecond, 1)) t/s | "
            + "generation: \(stats.generatedTokens) tokens, \(Format.fixed(stats.generationTokensPerSecond, 1)) t/s | "
            + "peak memory: \(peak) | seed \(parameters.seed) | \(loaded.model.backend.name), ctx \(session.contextLength)")
    }
}
