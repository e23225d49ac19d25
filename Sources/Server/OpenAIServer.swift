import Chat
import FoundationEssentials
import Hummingbird
import Serving
import Tokenizers

/// The OpenAI-compatible HTTP API over one `GenerationEngine`: /health, /v1/models,
/// /v1/chat/completions and /v1/completions, streaming as server-sent events.
public struct OpenAIServer: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        public var apiKey: String?
        public var modelID: String
        public var maxBodyBytes: Int
        public init(host: String = "127.0.0.1", port: Int = 8080, apiKey: String? = nil, modelID: String, maxBodyBytes: Int = 4 << 20) {
            self.host = host; self.port = port; self.apiKey = apiKey; self.modelID = modelID; self.maxBodyBytes = maxBodyBytes
        }
    }

    let configuration: Configuration
    let engine: GenerationEngine
    let tokenizer: any Tokenizer
    let chatFormat: ChatFormat
    let created = Int(Date().timeIntervalSince1970)

    public init(configuration: Configuration, engine: GenerationEngine, tokenizer: any Tokenizer, chatFormat: ChatFormat) {
        self.configuration = configuration
        self.engine = engine
        self.tokenizer = tokenizer
        self.chatFormat = chatFormat
    }

    /// Serves until SIGINT/SIGTERM: then stops accepting, finishes the requests in flight, returns.
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        let router = Router()
        let server = self
        router.get("/health") { _, _ -> Response in
            let load = server.engine.load
            return server.json(["status": "ok", "slots_busy": "\(load.busy)", "queued": "\(load.queued)"])
        }
        router.get("/v1/models") { request, _ -> Response in
            try server.authorize(request)
            return server.json(ModelList(data: [.init(id: server.configuration.modelID, created: server.created)]))
        }
        router.get("/v1/models/{id}") { request, context -> Response in
            try server.authorize(request)
            let id = context.parameters.get("id") ?? ""
            guard id == server.configuration.modelID else { throw server.unknownModel(id) }
            return server.json(ModelList.Entry(id: id, created: server.created))
        }
        router.post("/v1/chat/completions") { request, _ -> Response in
            try server.authorize(request)
            let body: ChatCompletionRequest = try await server.decode(request)
            return try await server.chatCompletion(body)
        }
        router.post("/v1/completions") { request, _ -> Response in
            try server.authorize(request)
            let body: CompletionRequest = try await server.decode(request)
            return try await server.completion(body)
        }
        let app = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "atelier"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) })
        try await app.runService()
        engine.drain()
    }
}
