import Dispatch
import Synchronization

/// A request on its way through the engine: what to generate, where its events go, and whether
/// its consumer went away.
final class Job: Sendable {
    let request: GenerationRequest
    let continuation: AsyncStream<GenerationEvent>.Continuation
    let cancelled = Atomic<Bool>(false)
    init(request: GenerationRequest, continuation: AsyncStream<GenerationEvent>.Continuation) {
        self.request = request
        self.continuation = continuation
    }
}

/// The bounded queue between callers and the driver thread, the count of busy slots callers can
/// read, and the signals that wake the driver and tell `drain()` it is done.
final class RequestQueue: Sendable {
    let limit: Int
    private let state = Mutex(State())
    private let wake = DispatchSemaphore(value: 0)
    private let drained = DispatchSemaphore(value: 0)

    private struct State {
        var jobs: [Job] = []
        var stopping = false
        var busySlots = 0
    }

    init(limit: Int) { self.limit = limit }

    /// Appends `job`, or refuses it when the queue is full or the engine is stopping.
    func enqueue(_ job: Job) throws {
        try state.withLock { state in
            if state.stopping { throw EngineStopping() }
            guard state.jobs.count < limit else { throw EngineBusy(queued: state.jobs.count) }
            state.jobs.append(job)
        }
        wake.signal()
    }

    /// The job to admit next; it stays queued until `removeFirst()`.
    var first: Job? { state.withLock { $0.jobs.first } }

    func removeFirst() { state.withLock { _ = $0.jobs.removeFirst() } }

    /// Requests waiting for a slot, and slots busy.
    var load: (queued: Int, busy: Int) { state.withLock { ($0.jobs.count, $0.busySlots) } }

    func slotTaken() { state.withLock { $0.busySlots += 1 } }
    func slotFreed() { state.withLock { $0.busySlots -= 1 } }

    /// Refuses new requests from now on and wakes the driver to finish the rest.
    func stop() {
        state.withLock { $0.stopping = true }
        wake.signal()
    }

    /// True once stopping and nothing is left to admit.
    var isDone: Bool { state.withLock { $0.stopping && $0.jobs.isEmpty } }

    /// Blocks the idle driver until a request arrives or `stop()`.
    func waitForWork() { wake.wait() }

    func signalDrained() { drained.signal() }
    func waitUntilDrained() { drained.wait() }
}
