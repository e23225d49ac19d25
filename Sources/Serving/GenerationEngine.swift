import Compute
import Dispatch
import Models
import Sampling
import Synchronization
import Tokenizers

/// Serves many completions from one model with continuous batching: `slots` sequences, each
/// with its own KV cache, advance together — one forward pass per step computes the next token
/// of every slot that is decoding. Requests wait in a bounded queue; a slot keeps the tokens it
/// last held, so a request sharing a prefix with them (the same conversation, the same system
/// prompt) skips re-evaluating it.
///
/// One driver thread owns the model; callers only enqueue and read event streams.
public final class GenerationEngine: Sendable {
    public let slotCount: Int
    public let slotContext: Int
    public let queueLimit: Int
    let model: any LanguageModel
    let tokenizer: any Tokenizer
    /// Prompt tokens evaluated per forward pass while a slot fills: small enough that decoding
    /// slots wait at most one chunk.
    let prefillChunk: Int
    private let shared = Mutex(Shared())
    private let wake = DispatchSemaphore(value: 0)
    private let drained = DispatchSemaphore(value: 0)

    struct Shared {
        var queue: [Job] = []
        var stopping = false
        var busySlots = 0
    }

    final class Job: Sendable {
        let request: GenerationRequest
        let continuation: AsyncStream<GenerationEvent>.Continuation
        let cancelled = Atomic<Bool>(false)
        init(request: GenerationRequest, continuation: AsyncStream<GenerationEvent>.Continuation) {
            self.request = request
            self.continuation = continuation
        }
    }

    public init(loaded: LoadedModel, slots: Int, slotContext: Int, queueLimit: Int = 64, prefillChunk: Int = 256) {
        slotCount = max(1, slots)
        self.slotContext = slotContext
        self.queueLimit = queueLimit
        model = loaded.model
        tokenizer = loaded.tokenizer
        self.prefillChunk = max(1, min(prefillChunk, slotContext))
        let thread = DriverThread { [self] in self.drive() }
        thread.start()
    }

    /// Queues `request`; its events arrive on the returned stream. Ending the stream early (a
    /// client that went away) cancels the request at the next step.
    public func submit(_ request: GenerationRequest) throws -> AsyncStream<GenerationEvent> {
        let (stream, continuation) = AsyncStream<GenerationEvent>.makeStream()
        let job = Job(request: request, continuation: continuation)
        continuation.onTermination = { _ in job.cancelled.store(true, ordering: .relaxed) }
        try shared.withLock { state in
            if state.stopping { throw EngineStopping() }
            guard state.queue.count < queueLimit else { throw EngineBusy(queued: state.queue.count) }
            state.queue.append(job)
        }
        wake.signal()
        return stream
    }

    /// Requests waiting for a slot, and slots busy.
    public var load: (queued: Int, busy: Int) { shared.withLock { ($0.queue.count, $0.busySlots) } }

    /// Stops accepting requests, lets queued and running ones finish, then returns.
    public func drain() {
        shared.withLock { $0.stopping = true }
        wake.signal()
        drained.wait()
    }

    // MARK: - Driver

    /// A sequence position in the batch: its cache, the tokens the cache holds, and the job using it.
    final class Slot {
        let cache: KVCache
        var sequence: SequenceState
        var job: Job?
        var sampler = Sampler(.greedy)
        /// The request's text: whole characters, then nothing from a stop string on.
        var decoder: IncrementalDecoder
        var stops = StopStringFilter(stops: [])
        var pendingPrompt: ArraySlice<Int32> = []
        var generated = 0
        var cachedPrompt = 0
        var nextToken: Int32 = 0
        init(cache: KVCache, slidingWindow: Int?, tokenizer: any Tokenizer) {
            self.cache = cache
            sequence = SequenceState(contextLength: cache.contextLength, layerCapacities: cache.capacity, slidingWindow: slidingWindow)
            decoder = IncrementalDecoder(tokenizer: tokenizer)
        }
    }

    private func drive() {
        let backend = model.backend
        let c = model.configuration
        let rowCapacity = max(prefillChunk, slotCount)
        let workspace = model.makeWorkspace(batchCapacity: rowCapacity, logitRows: slotCount)
        let slots = (0..<slotCount).map { _ in
            Slot(cache: backend.makeKVCache(type: .f16, width: c.kvWidth, contextLength: slotContext,
                                            capacity: model.kvCapacity(contextLength: slotContext, batchCapacity: rowCapacity)),
                 slidingWindow: c.slidingWindow, tokenizer: tokenizer)
        }
        let vocabulary = c.vocabularySize
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: vocabulary * slotCount)
        defer { logits.deallocate() }

        while true {
            admit(into: slots)
            let active = slots.filter { $0.job != nil }
            if active.isEmpty {
                let stop = shared.withLock { $0.stopping && $0.queue.isEmpty }
                if stop { drained.signal(); return }
                wake.wait()
                continue
            }
            // Cancelled requests leave at once: their slot is free for the next step.
            for slot in active where slot.job!.cancelled.load(ordering: .relaxed) { finish(slot, .cancelled) }

            // One pass for all slots: every decoding slot's next token, then prompt chunks of the
            // slots still reading their prompts, as many rows as the workspace holds. Each weight is
            // then read once per step, not once per slot. Every backend operation computes a
            // row as it would alone (batch-invariant kernels and attention), so sharing a pass changes no result.
            let decoding = slots.filter { $0.job != nil && $0.pendingPrompt.isEmpty && $0.generated > 0 }
            var tokens = decoding.map(\.nextToken)
            var spans = decoding.enumerated().map { i, slot in
                SequenceSpan(rows: i..<(i + 1), cache: slot.cache, firstPosition: slot.sequence.position)
            }
            var prompts: [(slot: Slot, chunk: [Int32], lastRow: Int)] = []
            for slot in slots where slot.job != nil && !slot.pendingPrompt.isEmpty && tokens.count < rowCapacity {
                let chunk = Array(slot.pendingPrompt.prefix(min(prefillChunk, rowCapacity - tokens.count)))
                spans.append(SequenceSpan(rows: tokens.count..<(tokens.count + chunk.count), cache: slot.cache, firstPosition: slot.sequence.position))
                tokens += chunk
                prompts.append((slot, chunk, tokens.count - 1))
            }
            guard !tokens.isEmpty else { continue }
            model.forward(tokens, spans: spans, workspace: workspace)
            for (slot, chunk, _) in prompts {
                slot.pendingPrompt = slot.pendingPrompt.dropFirst(chunk.count)
                slot.sequence.append(chunk)
            }
            // Logits of every decoding row and of every prompt that just ended, in one pass over the
            // output matrix (at most one row per slot: `logitRows` is the slot count).
            let finished = prompts.filter { $0.slot.pendingPrompt.isEmpty }
            let logitRows = Array(0..<decoding.count) + finished.map(\.lastRow)
            guard !logitRows.isEmpty else { continue }
            model.logits(rows: logitRows, workspace: workspace)
            backend.read(workspace("logits", rows: logitRows.count), rows: 0..<logitRows.count, into: logits)
            for (i, slot) in decoding.enumerated() {
                slot.sequence.append(CollectionOfOne(slot.nextToken))
                emitToken(slot, logits: UnsafeMutableBufferPointer(start: logits + i * vocabulary, count: vocabulary))
            }
            for (j, prompt) in finished.enumerated() {
                emitToken(prompt.slot, logits: UnsafeMutableBufferPointer(start: logits + (decoding.count + j) * vocabulary, count: vocabulary))
            }
        }
    }

    /// A prefix at least this long, still being evaluated by another slot, is worth waiting a
    /// pass for instead of evaluating it a second time alongside.
    static let minimumAwaitedPrefix = 16

    /// Moves queued jobs into free slots, in order. A prompt's cached prefix comes from the free
    /// slot that shares the most of it or, when another slot (busy or free) holds more, from a copy
    /// of that slot's cells: concurrent requests with one system prompt evaluate it once. When a
    /// slot is still evaluating a prompt that shares a longer prefix, the job waits for it (it
    /// stays first in the queue; the passes go on for the other slots).
    private func admit(into slots: [Slot]) {
        while slots.contains(where: { $0.job == nil }) {
            guard let job = shared.withLock({ $0.queue.first }) else { return }
            let prompt = job.request.prompt
            if let problem = promptProblem(prompt) {
                dequeue()
                job.continuation.yield(.failed(problem))
                job.continuation.finish()
                continue
            }
            // Keep at least the last prompt token to evaluate: its logits start the answer.
            let longest = prompt.count - 1
            let (slot, _) = longestSharedPrefix(slots.filter { $0.job == nil }, prompt)!
            var keep = slot.sequence.reusablePrefix(of: prompt)
            // A donor's cells can be copied only while none of its rings has wrapped.
            let donor = longestSharedPrefix(slots.filter { $0 !== slot && $0.sequence.holdsEveryPosition(below: $0.sequence.writtenEnd) }, prompt)
            let copied = min(donor?.length ?? 0, longest)
            let awaited = slots.lazy.filter { $0.job != nil && !$0.pendingPrompt.isEmpty }
                .filter { $0.sequence.holdsEveryPosition(below: max($0.sequence.writtenEnd, $0.sequence.position + $0.pendingPrompt.count)) }
                .map { min(SequenceState.sharedPrefixLength($0.sequence.tokens + $0.pendingPrompt, prompt), longest) }.max() ?? 0
            if awaited >= max(keep, copied) + Self.minimumAwaitedPrefix { return }
            dequeue()

            slot.sequence.keepReusablePrefix(of: prompt)
            if let donor, copied > keep {
                model.backend.copyKV(positions: 0..<copied, from: donor.slot.cache, to: slot.cache)
                slot.sequence.append(prompt[keep..<copied])
                keep = copied
            }
            slot.job = job
            slot.sampler = Sampler(job.request.sampling)
            for id in prompt { slot.sampler.accept(id) }
            slot.decoder = IncrementalDecoder(tokenizer: tokenizer)
            slot.stops = StopStringFilter(stops: job.request.stop)
            slot.pendingPrompt = prompt[keep...]
            slot.generated = 0
            slot.cachedPrompt = keep
            shared.withLock { $0.busySlots += 1 }
        }
    }

    private func dequeue() { shared.withLock { _ = $0.queue.removeFirst() } }

    private func promptProblem(_ prompt: [Int32]) -> String? {
        if prompt.isEmpty { return "the prompt is empty" }
        if prompt.count >= slotContext {
            return "the prompt has \(prompt.count) tokens; a slot holds \(slotContext) (start the server with a larger --ctx)"
        }
        return nil
    }

    /// The slot among `candidates` whose cached tokens share the most of `prompt`, and how many.
    private func longestSharedPrefix(_ candidates: [Slot], _ prompt: [Int32]) -> (slot: Slot, length: Int)? {
        candidates.map { ($0, $0.sequence.sharedPrefixLength(with: prompt)) }.max { $0.1 < $1.1 }
    }

    private func emitToken(_ slot: Slot, logits: UnsafeMutableBufferPointer<Float>) {
        guard let job = slot.job else { return }
        let request = job.request
        var chosen: GenerationEvent.TokenLogprob?
        var top: [GenerationEvent.TokenLogprob] = []
        // The model's own distribution: before the sampler's penalties change the logits.
        let distribution = request.topLogprobs != nil ? LogSoftmax(UnsafeBufferPointer(logits)) : nil
        if let distribution, let n = request.topLogprobs {
            top = topIndices(UnsafeBufferPointer(logits), n).map { describe($0, logprob: distribution(logits[Int($0)])) }
        }
        let rawLogits = distribution != nil ? Array(logits) : []
        let token = slot.sampler.sample(logits)
        if let distribution { chosen = describe(token, logprob: distribution(rawLogits[Int(token)])) }
        if tokenizer.isEndOfGeneration(token) {
            finish(slot, .stop)
            return
        }
        slot.generated += 1
        slot.nextToken = token
        let piece = slot.stops.append(slot.decoder.push(token))
        job.continuation.yield(.text(piece, token: token, logprob: chosen, top: top))
        if slot.stops.stopped { finish(slot, .stop); return }
        if slot.generated >= request.maxTokens || slot.sequence.position + 1 >= slotContext { finish(slot, .length) }
    }

    private func describe(_ id: Int32, logprob: Double) -> GenerationEvent.TokenLogprob {
        let bytes = tokenizer.decodeBytes(id, special: true)
        return GenerationEvent.TokenLogprob(token: String(decoding: bytes, as: UTF8.self), bytes: bytes, logprob: Float(logprob))
    }

    private func finish(_ slot: Slot, _ reason: FinishReason) {
        guard let job = slot.job else { return }
        // A character that can no longer complete, and text held back for a stop string that
        // did not come (a stopped filter returns nothing).
        let rest = slot.stops.append(slot.decoder.flush()) + slot.stops.flush()
        if !rest.isEmpty {
            job.continuation.yield(.text(rest, token: -1, logprob: nil, top: []))
        }
        job.continuation.yield(.finished(reason, promptTokens: job.request.prompt.count, completionTokens: slot.generated,
                                         cachedPromptTokens: slot.cachedPrompt))
        job.continuation.finish()
        slot.job = nil
        slot.pendingPrompt = []
        shared.withLock { $0.busySlots -= 1 }
    }
}

/// A plain POSIX thread: the model's work must stay on one thread outside Swift's cooperative pool,
/// which it would otherwise block for whole forward passes.
final class DriverThread: @unchecked Sendable {
    private let body: @Sendable () -> Void
    init(_ body: @escaping @Sendable () -> Void) { self.body = body }

    func start() {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(self).toOpaque()
        pthread_create(&thread, nil, { raw in
            let me = Unmanaged<DriverThread>.fromOpaque(raw!).takeRetainedValue()
            me.body()
            return nil
        }, box)
        pthread_detach(thread)
    }
}

#if canImport(Glibc)
import Glibc
#endif
