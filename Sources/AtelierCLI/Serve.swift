import ArgumentParser
import Compute
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
    @Option(help: "Seconds a request's head, and then its body, may take to arrive (slow clients are closed, 408).")
    var timeout: Double = 30
    @Option(name: .customLong("idle-timeout"), help: "Seconds a kept-alive connection may wait for its next request.")
    var idleTimeout: Double = 60
    @Option(name: .customLong("max-connections"), help: "Open connections at most; more get 503 and are closed.")
    var maxConnections: Int = 256
    @Option(
        name: .customLong("shutdown-timeout"), help: "Seconds requests in flight may run after SIGTERM/Ctrl-C before they are cancelled.")
    var shutdownTimeout: Double = 30
    @Flag(help: "No request log (one line per request on stderr).")
    var quiet = false
    @OptionGroup var runtime: RuntimeOptions
    @OptionGroup var chat: ChatFormatOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port \(port); expected 0…65535") }
        guard parallel >= 1, parallel <= 64 else { throw ValidationError("--parallel \(parallel); expected 1…64") }
        guard queue >= 0 else { throw ValidationError("--queue \(queue); expected ≥ 0") }
        guard maxBody >= 1 else { throw ValidationError("--max-body \(maxBody); expected ≥ 1") }
        for (name, value) in [("--timeout", timeout), ("--idle-timeout", idleTimeout)] where !(value > 0 && value <= 86_400) {
            throw ValidationError("\(name) \(value); expected seconds in (0, 86400]")
        }
        guard shutdownTimeout >= 0, shutdownTimeout <= 86_400 else {
            throw ValidationError("--shutdown-timeout \(shutdownTimeout); expected seconds in 0…86400")
        }
        guard maxConnections >= 1 else { throw ValidationError("--max-connections \(maxConnections); expected ≥ 1") }
    }

    func run() async throws {
        // Before the model loads: a busy port should not cost the seconds a load takes.
        try PortCheck.check(host: host, port: port)
        let path = try ModelStore().resolve(model, progress: TerminalProgress())
        let file = Self.identity(of: path)
        let loaded = try runtime.load(path)
        let trained = loaded.model.configuration.contextLength
        let context = min(runtime.contextLength ?? 4096, trained)
        if let asked = runtime.contextLength, asked > trained {
            Terminal.warn("-c \(asked) is longer than the model's trained context (\(trained)); each slot holds \(trained) tokens")
        }
        let format = try chat.format(for: loaded, source: model)
        // The engine's slots share one workspace of max(256, slots) rows.
        try MemoryCheck.ensureFits(
            loaded, context: context, sequences: parallel, kvType: runtime.kvType, batch: max(256, parallel), logitRows: parallel,
            sharedWorkspace: true)
        let engine = GenerationEngine(
            loaded: loaded, slots: parallel, slotContext: context, queueLimit: queue, kvType: KVCacheType(rawValue: runtime.kvType) ?? .f16)
        let key = apiKey ?? getenv("ATELIER_API_KEY").map { String(cString: $0) }
        // The id clients send as "model": the name given, without directories or .gguf.
        let id = String(model.split(separator: "/").last ?? Substring(model)).replacingSuffix(".gguf")
        let server = OpenAIServer(
            configuration: .init(
                host: host, port: port, apiKey: key?.isEmpty == false ? key : nil, modelID: id, modelFile: file, maxBodyBytes: maxBody,
                limits: .init(requestTimeout: timeout, idleTimeout: idleTimeout, maxConnections: maxConnections),
                shutdownTimeout: shutdownTimeout, logRequests: !quiet),
            engine: engine, tokenizer: loaded.tokenizer, chatFormat: format)
        let host = self.host, parallel = self.parallel
        try await server.run(onListening: { port in
            print(
                "atelier serve: \(id) on http://\(host):\(port)/v1 — \(parallel) slots × \(context) tokens\(key != nil ? ", API key required" : "")"
            )
            fflush(nil)
        })
        print("atelier serve: stopped")
    }

    /// The loaded file's size, and its SHA-256 when the store recorded one at install.
    static func identity(of path: String) -> ModelFileIdentity? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        let stored = (try? ModelStore().list())?.first { $0.path == path && $0.sizeBytes == Int64(st.st_size) }
        return ModelFileIdentity(sha256: stored?.sha256, bytes: Int64(st.st_size))
    }
}

extension String {
    func replacingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
