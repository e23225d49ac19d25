import ArgumentParser
import ModelStore
import Models
import Server
import Serving

#if canImport(Glibc)
import Glibc
#endif

/// `atelier serve`: the model as an OpenAI-compatible HTTP endpoint.
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve a model over the OpenAI HTTP API (/v1/chat/completions, /v1/completions, /v1/models, /health).")

    @Argument(help: "A stored or built-in model name, or a .gguf path.")
    var model: String = ModelCatalog.defaultModelName
    @Option(help: "Address to bind (loopback by default; 0.0.0.0 exposes the server to the network).")
    var host: String = "127.0.0.1"
    @Option(help: "Port (0 picks a free one and prints it).")
    var port: Int = 8080
    @Option(name: [.customShort("P"), .customLong("parallel")], help: "Requests decoded together (slots).")
    var parallel: Int = 4
    @Option(help: "Requests that may wait for a slot before the server answers 429.")
    var queue: Int = 64
    @Option(name: .customLong("api-key"), help: "Require `Authorization: Bearer KEY` (default: $ATELIER_API_KEY; none: open).")
    var apiKey: String?
    @Option(name: .customLong("max-body"), help: "Largest request body in bytes.")
    var maxBody: Int = 4 << 20
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var chat: ChatFormatOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port \(port); expected 0…65535") }
        guard parallel >= 1, parallel <= 64 else { throw ValidationError("--parallel \(parallel); expected 1…64") }
        guard queue >= 0 else { throw ValidationError("--queue \(queue); expected ≥ 0") }
    }

    func run() async throws {
        let loaded = try runtime.load(model)
        let trained = loaded.model.configuration.contextLength
        let context = min(runtime.contextLength ?? 4096, trained)
        let format = try chat.format(for: loaded, source: model)
        let engine = GenerationEngine(loaded: loaded, slots: parallel, slotContext: context, queueLimit: queue)
        let key = apiKey ?? getenv("ATELIER_API_KEY").map { String(cString: $0) }
        // The id clients send as "model": the name given, without directories or .gguf.
        let id = String(model.split(separator: "/").last ?? Substring(model)).replacingSuffix(".gguf")
        let server = OpenAIServer(
            configuration: .init(host: host, port: port, apiKey: key?.isEmpty == false ? key : nil, modelID: id, maxBodyBytes: maxBody),
            engine: engine, tokenizer: loaded.tokenizer, chatFormat: format)
        let host = self.host, parallel = self.parallel
        try await server.run(onListening: { port in
            print(
                "atelier serve: \(id) on http://\(host):\(port)/v1 — \(parallel) slots × \(context) tokens\(key != nil ? ", API key required" : "")"
            )
            fflush(nil)
        })
        print("atelier serve: stopped after finishing the requests in flight")
    }
}

extension String {
    func replacingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
