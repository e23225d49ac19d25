import Dispatch
import Synchronization

/// A request on its way through the engine: what to generate, where its events go, and whether
/// its consumer went away (or `cancelAll()` ended it).
final class Job: Sendable {
    let request: GenerationRequest
    let continuation: AsyncStream<GenerationEvent>.Continuation
    let cancelled = Atomic<Bool>(false)
    init(request: GenerationRequest, continuation: AsyncStream<GenerationEvent>.Continuation) {
        self.request = request
        self.continuation = continuation
    }

    /// Ends a job that never reached a slot.
    func finishUnstarted(_ event: GenerationEvent) {
        continuation.yield(event)
        continuation.finish()
    }
}

/// The bounded queue between callers and the driver thread, the jobs running in slots (so callers
/// can count and cancel them), and the signals that wake the driver and tell `drain()` it is done.
/// A job moves from waiting to running in one locked step, so `cancelAll()` always finds it.
final class RequestQueue: Sendable {
    let limit: Int
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let drained = DispatchSemaphore(value: 0)

    private struct State {
        var waiting: [Job] = []
        var running: [Job] = []
        var stopping = false
    }

    init(limit: Int) { self.limit = limit }

    /// Appends `job`, or refuses it when the queue is full or the engine is stopping.
    func enqueue(_ job: Job) throws {
        try state.withLock { state in
            if state.stopping { throw EngineStopping() }
            guard state.waiting.count < limit else { throw EngineBusy(queued: state.waiting.count) }
            state.waiting.append(job)
        }
        wake.signal()
    }

    /// The job to admit next; it stays queued until `start(_:)` or `remove(_:)`.
    var first: Job? { state.withLock { $0.waiting.first } }

    /// Takes `job` out of the queue; false when it already left (a consumer that went away, `cancelAll()`).
    @discardableResult
    func remove(_ job: Job) -> Bool {
        state.withLock { state in
            guard let index = state.waiting.firstIndex(where: { $0 === job }) else { return false }
            state.waiting.remove(at: index)
            return true
        }
    }

    /// Moves `job` from the queue to the running jobs; false when it already left the queue.
    func start(_ job: Job) -> Bool {
        state.withLock { state in
            guard let index = state.waiting.firstIndex(where: { $0 === job }) else { return false }
            state.waiting.remove(at: index)
            state.running.append(job)
            return true
        }
    }

    /// `job` left its slot.
    func finished(_ job: Job) {
        state.withLock { state in state.running.removeAll { $0 === job } }
    }

    /// Marks every running job cancelled (the driver ends each at its next step) and takes every
    /// waiting job out of the queue; returns those, for the caller to end.
    func cancelAll() -> [Job] {
        state.withLock { state in
            for job in state.running + state.waiting { job.cancelled.store(true, ordering: .relaxed) }
            defer { state.waiting = [] }
            return state.waiting
        }
    }

    /// Requests waiting for a slot, and slots busy.
    var load: (queued: Int, busy: Int) { state.withLock { ($0.waiting.count, $0.running.count) } }

    /// Refuses new requests from now on and wakes the driver to finish the rest.
    func stop() {
        state.withLock { $0.stopping = true }
        wake.signal()
    }

    /// True once stopping and nothing is left to admit.
    var isDone: Bool { state.withLock { $0.stopping && $0.waiting.isEmpty } }

    /// Blocks the idle driver until a request arrives or `stop()`.
    func waitForWork() { wake.wait() }

    func signalDrained() { drained.signal() }
    func waitUntilDrained() { drained.wait() }
}
