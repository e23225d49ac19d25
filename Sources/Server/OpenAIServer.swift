import Chat
import FoundationEssentials
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle
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
        /// What /v1/models says about the file the weights came from.
        public var modelFile: ModelFileIdentity?
        public var maxBodyBytes: Int
        public var limits: ConnectionLimits
        /// Seconds requests in flight may still run after SIGTERM/SIGINT before they are cancelled.
        public var shutdownTimeout: Double
        /// One line per request on stderr.
        public var logRequests: Bool

        public init(
            host: String = "127.0.0.1", port: Int = 8080, apiKey: String? = nil, modelID: String, modelFile: ModelFileIdentity? = nil,
            maxBodyBytes: Int = 4 << 20, limits: ConnectionLimits = .init(), shutdownTimeout: Double = 30, logRequests: Bool = true
        ) {
            self.host = host; self.port = port; self.apiKey = apiKey; self.modelID = modelID; self.modelFile = modelFile
            self.maxBodyBytes = maxBodyBytes; self.limits = limits; self.shutdownTimeout = shutdownTimeout; self.logRequests = logRequests
        }
    }

    let configuration: Configuration
    let engine: GenerationEngine
    let tokenizer: any Tokenizer
    let chatFormat: ChatFormat
    let created = Int(Date().timeIntervalSince1970)
    /// The vocabulary's longest token in bytes, for the prompt size check.
    let longestTokenBytes: Int
    let promptWorkers = PromptWorkers(threads: 1)
    let inFlight = InFlightRequests()
    let connections = OpenConnections()

    public init(configuration: Configuration, engine: GenerationEngine, tokenizer: any Tokenizer, chatFormat: ChatFormat) {
        self.configuration = configuration
        self.engine = engine
        self.tokenizer = tokenizer
        self.chatFormat = chatFormat
        var longest = 1
        for id in 0..<Int32(clamping: tokenizer.vocabularySize) {
            longest = max(longest, tokenizer.decodeBytes(id, special: true).count, tokenizer.decodeBytes(id, special: false).count)
        }
        longestTokenBytes = longest
    }

    /// Serves until SIGINT/SIGTERM: then stops accepting, lets the requests in flight finish for
    /// up to `shutdownTimeout` seconds, cancels those still running, and returns.
    public func run(onListening: @escaping @Sendable (Int) -> Void = { _ in }) async throws {
        var logger = Logger(label: "atelier-serve")
        logger.logLevel = .error
        let app = Application(
            router: router(),
            server: HTTPServerBuilder { [configuration, connections] responder in
                GuardedHTTP1Channel(
                    http1: HTTP1Channel(responder: responder), limits: configuration.limits, open: connections)
            },
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "atelier"),
            onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) },
            logger: logger)
        // The server's own cancellation first, so each client is told why (503 shutting_down);
        // then the engine's, for anything its queue still holds.
        let deadline = ShutdownDeadline(seconds: configuration.shutdownTimeout) { [inFlight, engine] in
            inFlight.cancelAll()
            engine.cancelAll()
        }
        // Services stop in reverse order: the deadline hears of the shutdown first and starts its
        // clock, then the server stops accepting and waits for its connections.
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: app), .init(service: deadline, successTerminationBehavior: .ignore)],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        engine.drain()
    }

    func router() -> Router<ServerRequestContext> {
        let router = Router(context: ServerRequestContext.self)
        let server = self
        // First, so that it wraps every route and the not-found answer too.
        router.add(middleware: ErrorsAndRequestLog(logRequests: configuration.logRequests))
        router.get("/health") { _, _ -> Response in server.json(server.health) }
        router.get("/v1/models") { request, _ -> Response in
            try server.authorize(request)
            return server.json(ModelList(data: [server.modelEntry]))
        }
        // A lookup says what this server has: another id is a 404, although /v1/chat/completions
        // accepts any "model" (see `ChatCompletionRequest`'s use of it).
        router.get("/v1/models/{id}") { request, context -> Response in
            try server.authorize(request)
            let id = context.parameters.get("id") ?? ""
            guard id == server.configuration.modelID else {
                throw APIError(
                    status: .notFound,
                    message: "the model \"\(id)\" does not exist; this server serves \"\(server.configuration.modelID)\"",
                    type: "invalid_request_error", param: "model", code: "model_not_found")
            }
            return server.json(server.modelEntry)
        }
        // The key is checked on the request's head, before any of its body is read.
        router.post("/v1/chat/completions") { request, context -> Response in
            try server.authorize(request)
            return try await server.chatCompletion(try await server.readBody(request), connection: context.channel)
        }
        router.post("/v1/completions") { request, context -> Response in
            try server.authorize(request)
            return try await server.completion(try await server.readBody(request), connection: context.channel)
        }
        return router
    }

    var modelEntry: ModelList.Entry {
        ModelList.Entry(
            id: configuration.modelID, created: created, file_sha256: configuration.modelFile?.sha256,
            file_bytes: configuration.modelFile?.bytes)
    }

    var health: Health {
        let load = engine.load
        return Health(
            slots_busy: load.busy, slots_total: engine.slotCount, queued: load.queued, queue_limit: engine.queueLimit,
            slot_context: engine.slotContext, connections: connections.current, model: configuration.modelID)
    }
}

/// The weights' file as the store recorded it.
public struct ModelFileIdentity: Sendable {
    /// SHA-256 of the file, hex: the digest the store verified when it installed the model, or nil
    /// for a file outside the store (hashing gigabytes at every start would delay it by minutes).
    public var sha256: String?
    public var bytes: Int64

    public init(sha256: String?, bytes: Int64) {
        self.sha256 = sha256
        self.bytes = bytes
    }
}

/// /health's body: numbers as JSON numbers.
struct Health: Encodable {
    var status = "ok"
    var slots_busy: Int
    var slots_total: Int
    var queued: Int
    var queue_limit: Int
    var slot_context: Int
    var connections: Int
    var model: String
}

/// Starts the clock when the graceful shutdown begins, and calls `expire` when it runs out.
struct ShutdownDeadline: Service {
    let seconds: Double
    let expire: @Sendable () -> Void

    func run() async throws {
        do { try await gracefulShutdown() } catch { return }
        let seconds = self.seconds, expire = self.expire
        Task {
            try? await Task.sleep(for: .seconds(seconds))
            expire()
        }
    }
}
