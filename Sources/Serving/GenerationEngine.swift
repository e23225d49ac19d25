import Models

/// Serves many completions from one model with continuous batching: `slots` sequences, each
/// with its own KV cache, advance together — one forward pass per step computes the next token
/// of every slot that is decoding. Requests wait in a bounded queue; a slot keeps the tokens it
/// last held, so a request sharing a prefix with them (the same conversation, the same system
/// prompt) skips re-evaluating it.
///
/// One driver thread (`EngineDriver`) owns the model; callers only enqueue and read event streams.
public final class GenerationEngine: Sendable {
    public let slotCount: Int
    public let slotContext: Int
    public var queueLimit: Int { queue.limit }
    private let queue: RequestQueue

    public init(loaded: LoadedModel, slots: Int, slotContext: Int, queueLimit: Int = 64, prefillChunk: Int = 256) {
        slotCount = max(1, slots)
        self.slotContext = slotContext
        queue = RequestQueue(limit: queueLimit)
        let driver = EngineDriver(
            model: loaded.model, tokenizer: loaded.tokenizer, queue: queue, slotCount: slotCount,
            slotContext: slotContext, prefillChunk: max(1, min(prefillChunk, slotContext)))
        DriverThread { driver.run() }.start()
    }

    /// Queues `request`; its events arrive on the returned stream. Ending the stream early (a
    /// client that went away) cancels the request at the next step.
    public func submit(_ request: GenerationRequest) throws -> AsyncStream<GenerationEvent> {
        let (stream, continuation) = AsyncStream<GenerationEvent>.makeStream()
        let job = Job(request: request, continuation: continuation)
        continuation.onTermination = { _ in job.cancelled.store(true, ordering: .relaxed) }
        try queue.enqueue(job)
        return stream
    }

    /// Requests waiting for a slot, and slots busy.
    public var load: (queued: Int, busy: Int) { queue.load }

    /// Stops accepting requests, lets queued and running ones finish, then returns.
    public func drain() {
        queue.stop()
        queue.waitUntilDrained()
    }
}
