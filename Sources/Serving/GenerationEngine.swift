import Compute
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
    let driver: EngineDriver

    public init(
        loaded: LoadedModel, slots: Int, slotContext: Int, queueLimit: Int = 64, prefillChunk: Int = 256, kvType: KVCacheType = .f16
    ) {
        slotCount = max(1, slots)
        self.slotContext = slotContext
        queue = RequestQueue(limit: queueLimit)
        driver = EngineDriver(
            model: loaded.model, tokenizer: loaded.tokenizer, queue: queue, slotCount: slotCount,
            slotContext: slotContext, prefillChunk: max(1, min(prefillChunk, slotContext)), kvType: kvType)
        DriverThread { [driver] in driver.run() }.start()
    }

    /// Queues `request`; its events arrive on the returned stream. Ending the stream early (a
    /// client that went away) takes a waiting request out of the queue at once, and stops a
    /// running one at the next step (between prompt chunks while its prompt is evaluated). A
    /// request whose stop strings break `StopStringFilter`'s limits fails at once.
    public func submit(_ request: GenerationRequest) throws -> AsyncStream<GenerationEvent> {
        let (stream, continuation) = AsyncStream<GenerationEvent>.makeStream()
        let job = Job(request: request, continuation: continuation)
        do { try StopStringFilter.validate(request.stop) } catch {
            job.finishUnstarted(.failed("\(error)"))
            return stream
        }
        continuation.onTermination = { [queue] _ in
            job.cancelled.store(true, ordering: .relaxed)
            queue.remove(job)
        }
        try queue.enqueue(job)
        return stream
    }

    /// Ends every request now in the engine with `.cancelled`: waiting ones at once, running ones
    /// at the driver's next step (their text so far has been sent). Requests submitted afterwards
    /// run normally; a server stops accepting them first (`drain()`), then calls this when its
    /// shutdown deadline passes.
    public func cancelAll() {
        for job in queue.cancelAll() {
            job.finishUnstarted(.finished(.cancelled, promptTokens: job.request.prompt.count, completionTokens: 0, cachedPromptTokens: 0))
        }
    }

    /// Requests waiting for a slot, and slots busy.
    public var load: (queued: Int, busy: Int) { queue.load }

    /// Forward passes run so far (tests count steps with it).
    var passesRun: Int { driver.passesRun.load(ordering: .relaxed) }

    /// Stops accepting requests, lets queued and running ones finish, then returns.
    public func drain() {
        queue.stop()
        queue.waitUntilDrained()
    }
}
