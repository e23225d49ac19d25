import Compute
import Models
import Synchronization
import Tokenizers

/// The driver thread's loop: admits queued requests into slots, runs one forward pass per step
/// for every busy slot, and turns each slot's logits into its next token and event. It alone
/// touches the model and the slots.
final class EngineDriver: Sendable {
    let model: any LanguageModel
    let tokenizer: any Tokenizer
    let queue: RequestQueue
    let slotCount: Int
    let slotContext: Int
    /// Prompt tokens evaluated per forward pass while a slot fills: small enough that decoding
    /// slots wait at most one chunk.
    let prefillChunk: Int
    /// Forward passes run so far, for tests that count steps.
    let passesRun = Atomic<Int>(0)

    /// The element type of every slot's KV cache (`serve --kv-type`).
    let kvType: KVCacheType

    init(
        model: any LanguageModel, tokenizer: any Tokenizer, queue: RequestQueue, slotCount: Int, slotContext: Int, prefillChunk: Int,
        kvType: KVCacheType
    ) {
        self.kvType = kvType
        self.model = model
        self.tokenizer = tokenizer
        self.queue = queue
        self.slotCount = slotCount
        self.slotContext = slotContext
        self.prefillChunk = prefillChunk
    }

    /// Runs until the queue is stopped and every request has finished.
    func run() {
        let backend = model.backend
        let c = model.configuration
        let rowCapacity = max(prefillChunk, slotCount)
        let workspace = model.makeWorkspace(batchCapacity: rowCapacity, logitRows: slotCount)
        let slots = (0..<slotCount).map { _ in
            Slot(
                cache: backend.makeKVCache(
                    type: kvType, width: c.kvWidth, contextLength: slotContext,
                    capacity: model.kvCapacity(contextLength: slotContext, batchCapacity: rowCapacity)),
                slidingWindow: c.slidingWindow, tokenizer: tokenizer)
        }
        let vocabulary = c.vocabularySize
        let logits = UnsafeMutablePointer<Float>.allocate(capacity: vocabulary * slotCount)
        defer { logits.deallocate() }

        while true {
            admit(into: slots)
            let active = slots.filter { !$0.isFree }
            if active.isEmpty {
                if queue.isDone { queue.signalDrained(); return }
                queue.waitForWork()
                continue
            }
            // Cancelled requests leave at once: their slot is free for the next step.
            for slot in active where slot.job!.cancelled.load(ordering: .relaxed) { finish(slot, .cancelled) }

            let pass = ForwardPass(slots: slots, rowCapacity: rowCapacity, prefillChunk: prefillChunk)
            guard !pass.tokens.isEmpty else { continue }
            model.forward(pass.tokens, spans: pass.spans, workspace: workspace)
            passesRun.add(1, ordering: .relaxed)
            let finished = pass.recordPromptChunks()
            // Logits of every decoding row and of every prompt that just ended, in one pass over the
            // output matrix (at most one row per slot: `logitRows` is the slot count).
            let logitRows = Array(0..<pass.decoding.count) + finished.map(\.lastRow)
            guard !logitRows.isEmpty else { continue }
            model.logits(rows: logitRows, workspace: workspace)
            backend.read(workspace("logits", rows: logitRows.count), rows: 0..<logitRows.count, into: logits)
            for (i, slot) in pass.decoding.enumerated() {
                slot.sequence.append(CollectionOfOne(slot.nextToken))
                emitToken(slot, logits: UnsafeMutableBufferPointer(start: logits + i * vocabulary, count: vocabulary))
            }
            for (j, prompt) in finished.enumerated() {
                emitToken(
                    prompt.slot,
                    logits: UnsafeMutableBufferPointer(start: logits + (pass.decoding.count + j) * vocabulary, count: vocabulary))
            }
        }
    }

    /// Moves queued jobs into free slots, in order, each with the cached prefix `PrefixPlan`
    /// finds. A job that should wait for a prefix still being evaluated stays first in the queue;
    /// the passes go on for the other slots. A cancelled job leaves without touching a slot.
    private func admit(into slots: [Slot]) {
        while slots.contains(where: \.isFree) {
            guard let job = queue.first else { return }
            let prompt = job.request.prompt
            if job.cancelled.load(ordering: .relaxed) {
                if queue.remove(job) {
                    job.finishUnstarted(.finished(.cancelled, promptTokens: prompt.count, completionTokens: 0, cachedPromptTokens: 0))
                }
                continue
            }
            if let problem = promptProblem(prompt) {
                if queue.remove(job) { job.finishUnstarted(.failed(problem)) }
                continue
            }
            guard let plan = PrefixPlan.make(for: prompt, slots: slots) else { return }
            // The job may have left the queue since `first` (its consumer went away, `cancelAll()`).
            guard queue.start(job) else { continue }
            let cached = plan.apply(to: prompt, backend: model.backend)
            plan.slot.start(job, cachedPrompt: cached, tokenizer: tokenizer)
        }
    }

    private func promptProblem(_ prompt: [Int32]) -> String? {
        if prompt.isEmpty { return "the prompt is empty" }
        if prompt.count >= slotContext {
            return "the prompt has \(prompt.count) tokens; a slot holds \(slotContext) (start the server with a larger --ctx)"
        }
        return nil
    }

    private func emitToken(_ slot: Slot, logits: UnsafeMutableBufferPointer<Float>) {
        guard let job = slot.job else { return }
        let request = job.request
        let logprobs = request.topLogprobs.map { TokenLogprobs(logits: logits, top: $0, tokenizer: tokenizer) }
        let token = slot.sampler.sample(logits)
        if tokenizer.isEndOfGeneration(token) {
            finish(slot, .stop)
            return
        }
        slot.generated += 1
        slot.nextToken = token
        let piece = slot.stops.append(slot.decoder.push(token))
        job.continuation.yield(.text(piece, token: token, logprob: logprobs?.chosen(token), top: logprobs?.top ?? []))
        if slot.stops.stopped { finish(slot, .stop); return }
        if slot.generated >= request.maxTokens || slot.sequence.position + 1 >= slotContext { finish(slot, .length) }
    }

    private func finish(_ slot: Slot, _ reason: FinishReason) {
        guard let job = slot.job else { return }
        // Text held back for a stop string that did not come (a stopped filter returns nothing);
        // never part of a character: one cut short by the end of generation is dropped.
        slot.decoder.discardIncompleteCharacter()
        let rest = slot.stops.flush()
        if !rest.isEmpty {
            job.continuation.yield(.text(rest, token: -1, logprob: nil, top: []))
        }
        job.continuation.yield(
            .finished(
                reason, promptTokens: job.request.prompt.count, completionTokens: slot.generated,
                cachedPromptTokens: slot.cachedPrompt))
        job.continuation.finish()
        slot.release()
        queue.finished(job)
    }
}
