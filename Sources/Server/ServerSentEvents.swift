import FoundationEssentials
import Hummingbird
import Serving

/// The chunks one endpoint streams: each endpoint has its own JSON shape for the same events.
protocol EventStreamShape: Sendable {
    associatedtype Chunk: Encodable
    /// Sent before any text, when the endpoint has such a chunk.
    var opening: Chunk? { get }
    func text(_ piece: String, chosen: GenerationEvent.TokenLogprob?, top: [GenerationEvent.TokenLogprob]) -> Chunk
    func finish(_ reason: FinishReason) -> Chunk
    func usage(_ usage: Usage) -> Chunk
}

extension OpenAIServer {
    /// Server-sent events: one `data:` line per chunk, `data: [DONE]` last. A client that goes
    /// away makes the write throw; leaving the loop ends the event stream, which cancels the
    /// request. The request log's line is written when the stream ends.
    func stream(_ events: AsyncStream<RelayedEvent>, shape: some EventStreamShape, includeUsage: Bool) -> Response {
        let log = RequestLog.current
        log?.deferUntilStreamEnds()
        let body = ResponseBody { writer in
            func send(_ value: some Encodable) async throws {
                var line = Data("data: ".utf8)
                line.append(try JSONEncoder().encode(value))
                line.append(contentsOf: Array("\n\n".utf8))
                try await writer.write(ByteBuffer(bytes: line))
            }
            func sendError(_ error: APIError) async throws {
                try await writer.write(ByteBuffer(bytes: Data("data: ".utf8) + error.json.readableBytesView + Data("\n\n".utf8)))
            }
            do {
                if let opening = shape.opening { try await send(opening) }
                streaming: for await relayed in events {
                    switch relayed {
                    case .engine(.text(let piece, _, let chosen, let top)):
                        if piece.isEmpty && chosen == nil { continue }
                        try await send(shape.text(piece, chosen: chosen, top: top))
                    case .engine(.finished(let reason, let p, let c, let cached)):
                        log?.record(promptTokens: p, completionTokens: c)
                        try await send(shape.finish(reason))
                        if includeUsage {
                            try await send(shape.usage(Usage(prompt_tokens: p, completion_tokens: c, cached_tokens: cached)))
                        }
                        break streaming
                    case .engine(.failed(let message)):
                        try await sendError(APIError.invalid(message, param: nil))
                        break streaming
                    case .cancelled(let reason):
                        log?.record(status: APIError.cancelled(reason).status)
                        try await sendError(APIError.cancelled(reason))
                        break streaming
                    }
                }
                try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
                try await writer.finish(nil)
                log?.streamEnded()
            } catch {
                log?.record(status: APIError.cancelled(.clientGone).status)
                log?.streamEnded()
                throw error
            }
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}
