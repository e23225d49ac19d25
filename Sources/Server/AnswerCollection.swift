import NIOCore
import Serving

/// What a finished non-streaming answer reports besides its text.
struct AnswerOutcome {
    var finish: FinishReason
    var usage: Usage
}

extension OpenAIServer {
    /// The engine's events for one request, stopped when its client's connection closes or the
    /// shutdown deadline passes.
    func watch(_ events: AsyncStream<GenerationEvent>, connection: any Channel) -> AsyncStream<RelayedEvent> {
        let (relayed, cancel) = inFlight.watch(events)
        connection.closeFuture.whenComplete { _ in cancel(.clientGone) }
        return relayed
    }

    /// Reads a whole answer, handing each text piece to `onText`.
    func collect(
        _ events: AsyncStream<RelayedEvent>, param: String,
        onText: (String, GenerationEvent.TokenLogprob?, [GenerationEvent.TokenLogprob]) -> Void
    ) async throws -> AnswerOutcome {
        for await relayed in events {
            switch relayed {
            case .engine(.text(let piece, _, let chosen, let top)):
                onText(piece, chosen, top)
            case .engine(.finished(let reason, let p, let c, let cached)):
                RequestLog.current?.record(promptTokens: p, completionTokens: c)
                return AnswerOutcome(finish: reason, usage: Usage(prompt_tokens: p, completion_tokens: c, cached_tokens: cached))
            case .engine(.failed(let message)):
                throw APIError.invalid(message, param: param)
            case .cancelled(let reason):
                throw APIError.cancelled(reason)
            }
        }
        throw APIError.cancelled(.shutdown)
    }
}
