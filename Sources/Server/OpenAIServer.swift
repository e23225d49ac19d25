import Chat
import ChatTemplates
import FoundationEssentials
import HTTPTypes
import Hummingbird
import Sampling
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
        let app = Application(router: router,
                              configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "atelier"),
                              onServerRunning: { channel in onListening(channel.localAddress?.port ?? 0) })
        try await app.runService()
        engine.drain()
    }

    // MARK: - Requests

    func authorize(_ request: Request) throws {
        guard let key = configuration.apiKey else { return }
        let given = request.headers[.authorization] ?? ""
        let expected = "Bearer " + key
        guard Self.constantTimeEqual(Array(given.utf8), Array(expected.utf8)) else {
            throw APIError(status: .unauthorized, message: given.isEmpty ? "missing Authorization: Bearer header" : "invalid API key",
                           type: "invalid_request_error", param: nil, code: "invalid_api_key")
        }
    }

    /// Compares without stopping at the first difference, so timing tells nothing about the key.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }

    func decode<T: Decodable>(_ request: Request) async throws -> T {
        var request = request
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.maxBodyBytes {
            await Self.discard(request.body)
            throw tooLarge()
        }
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: configuration.maxBodyBytes) } catch {
            await Self.discard(request.body)
            throw tooLarge()
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as APIError {
            throw error
        } catch DecodingError.keyNotFound(let key, let context) {
            throw APIError.invalid("missing required field \(Self.path(context.codingPath + [key]))", param: Self.path(context.codingPath + [key]))
        } catch DecodingError.typeMismatch(let type, let context) {
            throw APIError.invalid("field \(Self.path(context.codingPath)) has the wrong type; expected \(type)", param: Self.path(context.codingPath))
        } catch DecodingError.valueNotFound(let type, let context) {
            throw APIError.invalid("field \(Self.path(context.codingPath)) is null; expected \(type)", param: Self.path(context.codingPath))
        } catch DecodingError.dataCorrupted(let context) where !context.codingPath.isEmpty {
            throw APIError.invalid("field \(Self.path(context.codingPath)): \(context.debugDescription)", param: Self.path(context.codingPath))
        } catch {
            throw APIError.invalid("the request body is not valid JSON", param: nil)
        }
    }

    /// Reads and drops what the client is still sending (at most 64 MiB), so it gets to read the
    /// 413 instead of blocking on a full socket.
    static func discard(_ body: RequestBody) async {
        var seen = 0
        do {
            for try await chunk in body {
                seen += chunk.readableBytes
                if seen > 64 << 20 { return }
            }
        } catch {}
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }

    func tooLarge() -> APIError {
        APIError(status: .contentTooLarge, message: "the request body exceeds \(configuration.maxBodyBytes) bytes",
                 type: "invalid_request_error", param: nil, code: "request_too_large")
    }

    func unknownModel(_ id: String) -> APIError {
        APIError(status: .notFound, message: "the model \"\(id)\" does not exist; this server serves \"\(configuration.modelID)\"",
                 type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    /// Checks the shared fields and turns them into an engine request.
    func generationRequest(_ body: some SamplingFields, prompt: [Int32], maxTokens: Int?, topLogprobs: Int?) throws -> GenerationRequest {
        if let model = body.model, model != configuration.modelID { throw unknownModel(model) }
        if let n = body.n, n != 1 { throw APIError.invalid("n = \(n); this server returns one choice (n must be 1)", param: "n") }
        var sampling = SamplingParameters()
        sampling.temperature = Float(body.temperature ?? 1)
        sampling.topP = Float(body.top_p ?? 1)
        sampling.topK = 0
        sampling.minP = 0
        sampling.presencePenalty = Float(body.presence_penalty ?? 0)
        sampling.frequencyPenalty = Float(body.frequency_penalty ?? 0)
        sampling.seed = body.seed.map { UInt64(bitPattern: Int64($0)) } ?? UInt64.random(in: 0...UInt64.max)
        guard (0...2).contains(sampling.temperature) else { throw APIError.invalid("temperature \(sampling.temperature); expected 0…2", param: "temperature") }
        guard sampling.topP > 0 && sampling.topP <= 1 else { throw APIError.invalid("top_p \(sampling.topP); expected a number in (0, 1]", param: "top_p") }
        guard abs(sampling.presencePenalty) <= 2 else { throw APIError.invalid("presence_penalty \(sampling.presencePenalty); expected -2…2", param: "presence_penalty") }
        guard abs(sampling.frequencyPenalty) <= 2 else { throw APIError.invalid("frequency_penalty \(sampling.frequencyPenalty); expected -2…2", param: "frequency_penalty") }
        let stops = body.stop?.values ?? []
        guard stops.count <= 4 else { throw APIError.invalid("stop has \(stops.count) sequences; at most 4", param: "stop") }
        if let maxTokens, maxTokens < 1 { throw APIError.invalid("max_tokens \(maxTokens); expected ≥ 1", param: "max_tokens") }
        if let topLogprobs, !(0...20).contains(topLogprobs) { throw APIError.invalid("top_logprobs \(topLogprobs); expected 0…20", param: "top_logprobs") }
        guard prompt.count < engine.slotContext else {
            throw APIError.invalid("the prompt has \(prompt.count) tokens; this server's context holds \(engine.slotContext)",
                                   param: "messages", code: "context_length_exceeded")
        }
        let room = engine.slotContext - prompt.count
        return GenerationRequest(prompt: prompt, maxTokens: min(maxTokens ?? room, room), sampling: sampling, stop: stops, topLogprobs: topLogprobs)
    }

    func submit(_ request: GenerationRequest) throws -> AsyncStream<GenerationEvent> {
        do { return try engine.submit(request) }
        catch let busy as EngineBusy { throw APIError(status: .tooManyRequests, message: busy.description, type: "rate_limit_error", param: nil, code: "queue_full") }
        catch { throw APIError(status: .serviceUnavailable, message: "\(error)", type: "server_error", param: nil, code: "shutting_down") }
    }

    // MARK: - Chat

    func chatCompletion(_ body: ChatCompletionRequest) async throws -> Response {
        guard !body.messages.isEmpty else { throw APIError.invalid("messages is empty", param: "messages") }
        for (i, m) in body.messages.enumerated() where !["system", "user", "assistant", "developer", "tool"].contains(m.role) {
            throw APIError.invalid("messages[\(i)].role \"\(m.role)\"; expected system, user, assistant, developer or tool", param: "messages[\(i)].role")
        }
        let messages = body.messages.map { ChatMessage(role: $0.role == "developer" ? "system" : $0.role, content: $0.content?.text ?? "") }
        let rendered: String
        do { rendered = try chatFormat.render(messages) }
        catch { throw APIError.invalid("the chat template cannot render these messages: \(error)", param: "messages") }
        let prompt = chatFormat.encode(rendered, tokenizer: tokenizer)
        let topLogprobs = body.logprobs == true ? (body.top_logprobs ?? 0) : nil
        if body.logprobs != true, body.top_logprobs != nil { throw APIError.invalid("top_logprobs needs logprobs: true", param: "top_logprobs") }
        let request = try generationRequest(body, prompt: prompt, maxTokens: body.max_completion_tokens ?? body.max_tokens, topLogprobs: topLogprobs)
        let events = try submit(request)
        let id = "chatcmpl-" + Self.randomID()
        if body.stream == true {
            return stream(events, id: id, includeUsage: body.stream_options?.include_usage == true, chat: true)
        }
        var text = "", logprobs: [ChatLogprob] = [], finish = FinishReason.stop, usage = Usage(prompt_tokens: prompt.count, completion_tokens: 0)
        for await event in events {
            switch event {
            case .text(let piece, _, let chosen, let top):
                text += piece
                if let chosen { logprobs.append(ChatLogprob(chosen, top: top)) }
            case .finished(let reason, let p, let c, let cached):
                finish = reason
                usage = Usage(prompt_tokens: p, completion_tokens: c, cached_tokens: cached)
            case .failed(let message):
                throw APIError.invalid(message, param: "messages")
            }
        }
        let choice = ChatChoice(message: .init(content: text), logprobs: request.topLogprobs == nil ? nil : .init(content: logprobs),
                                finish_reason: finish.rawValue)
        return json(ChatCompletion(id: id, created: Self.now, model: configuration.modelID, choices: [choice], usage: usage))
    }

    // MARK: - Completions

    func completion(_ body: CompletionRequest) async throws -> Response {
        guard body.prompt.values.count == 1 else {
            throw APIError.invalid("prompt must be one string (got \(body.prompt.values.count)); send one request per prompt", param: "prompt")
        }
        if body.echo == true { throw APIError.invalid("echo is not supported", param: "echo") }
        let prompt = tokenizer.encode(body.prompt.values[0], addBOS: tokenizer.addsBOS, parseSpecialTokens: false)
        guard !prompt.isEmpty else { throw APIError.invalid("prompt is empty", param: "prompt") }
        if let n = body.logprobs, !(0...5).contains(n) { throw APIError.invalid("logprobs \(n); expected 0…5", param: "logprobs") }
        let request = try generationRequest(body, prompt: prompt, maxTokens: body.max_tokens ?? 16, topLogprobs: body.logprobs)
        let events = try submit(request)
        let id = "cmpl-" + Self.randomID()
        if body.stream == true {
            return stream(events, id: id, includeUsage: body.stream_options?.include_usage == true, chat: false)
        }
        var text = "", finish = FinishReason.stop, usage = Usage(prompt_tokens: prompt.count, completion_tokens: 0)
        var logprobs = CompletionLogprobs()
        for await event in events {
            switch event {
            case .text(let piece, _, let chosen, let top):
                if let chosen { logprobs.add(chosen, top: top, offset: text.utf8.count) }
                text += piece
            case .finished(let reason, let p, let c, let cached):
                finish = reason
                usage = Usage(prompt_tokens: p, completion_tokens: c, cached_tokens: cached)
            case .failed(let message):
                throw APIError.invalid(message, param: "prompt")
            }
        }
        let choice = CompletionChoice(text: text, logprobs: body.logprobs == nil ? nil : logprobs, finish_reason: finish.rawValue)
        return json(Completion(id: id, created: Self.now, model: configuration.modelID, choices: [choice], usage: usage))
    }

    // MARK: - Streaming

    /// Server-sent events: one `data:` line per chunk, `data: [DONE]` last. A client that goes
    /// away makes the write throw; leaving the loop ends the event stream, which cancels the request.
    func stream(_ events: AsyncStream<GenerationEvent>, id: String, includeUsage: Bool, chat: Bool) -> Response {
        let model = configuration.modelID, created = Self.now
        let body = ResponseBody { writer in
            func send(_ value: some Encodable) async throws {
                var line = Data("data: ".utf8)
                line.append(try JSONEncoder().encode(value))
                line.append(contentsOf: Array("\n\n".utf8))
                try await writer.write(ByteBuffer(bytes: line))
            }
            if chat {
                try await send(ChatChunk(id: id, created: created, model: model, choices: [.init(delta: .init(role: "assistant", content: ""), finish_reason: nil)]))
            }
            for await event in events {
                switch event {
                case .text(let piece, _, let chosen, let top):
                    if piece.isEmpty && chosen == nil { continue }
                    if chat {
                        let lp = chosen.map { ChatLogprobs(content: [ChatLogprob($0, top: top)]) }
                        try await send(ChatChunk(id: id, created: created, model: model, choices: [.init(delta: .init(content: piece), logprobs: lp, finish_reason: nil)]))
                    } else {
                        var lp: CompletionLogprobs?
                        if let chosen { var l = CompletionLogprobs(); l.add(chosen, top: top, offset: 0); lp = l }
                        try await send(Completion(id: id, object: "text_completion", created: created, model: model,
                                                  choices: [CompletionChoice(text: piece, logprobs: lp, finish_reason: nil)], usage: nil))
                    }
                case .finished(let reason, let p, let c, let cached):
                    if chat {
                        try await send(ChatChunk(id: id, created: created, model: model, choices: [.init(delta: .init(), finish_reason: reason.rawValue)]))
                    } else {
                        try await send(Completion(id: id, object: "text_completion", created: created, model: model,
                                                  choices: [CompletionChoice(text: "", logprobs: nil, finish_reason: reason.rawValue)], usage: nil))
                    }
                    if includeUsage {
                        let usage = Usage(prompt_tokens: p, completion_tokens: c, cached_tokens: cached)
                        if chat { try await send(ChatChunk(id: id, created: created, model: model, choices: [], usage: usage)) }
                        else { try await send(Completion(id: id, object: "text_completion", created: created, model: model, choices: [], usage: usage)) }
                    }
                case .failed(let message):
                    try await writer.write(ByteBuffer(bytes: Data("data: ".utf8) + APIError.invalid(message, param: nil).json.readableBytesView + Data("\n\n".utf8)))
                }
            }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }

    // MARK: - Helpers

    func json(_ value: some Encodable) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data()
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static var now: Int { Int(Date().timeIntervalSince1970) }

    static func randomID() -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        return String((0..<24).map { _ in alphabet.randomElement()! })
    }
}
