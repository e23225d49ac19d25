import Serving
import Synchronization

/// Why a request's events stopped before it finished.
enum RequestCancellation: Sendable {
    case clientGone, shutdown
}

/// The engine's events as the server relays them: ended early when the request is cancelled.
enum RelayedEvent: Sendable {
    case engine(GenerationEvent)
    case cancelled(RequestCancellation)
}

/// The requests the engine is working on, each with a way to stop it: its client's connection
/// closing (a non-streaming client is otherwise only noticed when the answer is written), or the
/// shutdown deadline passing. Stopping ends the task that reads the engine's stream, which
/// cancels the request in the engine.
final class InFlightRequests: Sendable {
    private struct State {
        var next = 0
        var cancels: [Int: @Sendable (RequestCancellation) -> Void] = [:]
        var shuttingDown = false
    }
    private let state = Mutex(State())

    /// `events` relayed through a stream that ends early (with `.cancelled` saying why) when
    /// `cancel` is called for it, or for all, and that cancels the request when its reader stops.
    func watch(_ events: AsyncStream<GenerationEvent>) -> (
        events: AsyncStream<RelayedEvent>, cancel: @Sendable (RequestCancellation) -> Void
    ) {
        let (relayed, continuation) = AsyncStream<RelayedEvent>.makeStream()
        let relay = Task {
            for await event in events { continuation.yield(.engine(event)) }
            continuation.finish()
        }
        let once = Once()
        let cancel: @Sendable (RequestCancellation) -> Void = { reason in
            guard once.first() else { return }
            // The reason goes out before the relay stops: once stopped it would end the stream first.
            continuation.yield(.cancelled(reason))
            continuation.finish()
            relay.cancel()
        }
        let id = state.withLock { state in
            defer { state.next += 1 }
            state.cancels[state.next] = cancel
            return state.next
        }
        continuation.onTermination = { [weak self] _ in
            relay.cancel()
            self?.state.withLock { _ = $0.cancels.removeValue(forKey: id) }
        }
        if state.withLock({ $0.shuttingDown }) { cancel(.shutdown) }
        return (relayed, cancel)
    }

    var count: Int { state.withLock { $0.cancels.count } }

    /// Cancels every request in flight and any that starts from now on.
    func cancelAll() {
        let cancels = state.withLock { state in
            state.shuttingDown = true
            return Array(state.cancels.values)
        }
        for cancel in cancels { cancel(.shutdown) }
    }
}

/// True the first time it is asked, false after.
private final class Once: Sendable {
    private let used = Mutex(false)
    func first() -> Bool {
        used.withLock { used in
            defer { used = true }
            return !used
        }
    }
}
