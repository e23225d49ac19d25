import Compute
import ModelStore
import Models
import Sampling
import Testing
import Tokenizers

@testable import Serving

/// Continuous batching must not change what a request gets: each greedy completion equals the
/// same prompt generated alone by `InferenceSession`.
@Suite(.serialized, .tags(.model)) struct GenerationEngineTests {
    /// Pulled if the store lacks them; a failure fails the tests that need them, not the test run.
    static let loadedModels = Result {
        var out: [String: LoadedModel] = [:]
        for name in ["smollm2-135m", "gemma3-270m"] {
            let path = try ModelStore().resolve(name)
            out[name] = try ModelLoader.load(path: path, backend: CPUBackend(threads: CPUBackend.defaultThreadCount))
        }
        return out
    }
    static var models: [String: LoadedModel] { get throws { try loadedModels.get() } }

    static let prompts = [
        "The capital of France is", "Once upon a time, there was a", "1, 2, 3, 4,",
        "The best way to learn to program is", "Water boils at", "My favourite colour is",
    ]

    static func alone(_ loaded: LoadedModel, _ prompt: [Int32], maxTokens: Int, kvType: KVCacheType = .f16) throws -> [Int32] {
        let session = try InferenceSession(model: loaded.model, contextLength: 256, kvType: kvType, logitRows: 1)
        var sampler = Sampler(.greedy)
        var out: [Int32] = []
        _ = try session.generate(prompt: prompt, maxTokens: maxTokens, sampler: &sampler, tokenizer: loaded.tokenizer) {
            out.append($0); return true
        }
        return out
    }

    static func collect(_ stream: AsyncStream<GenerationEvent>) async -> (tokens: [Int32], text: String, finish: GenerationEvent?) {
        var tokens: [Int32] = [], text = "", finish: GenerationEvent?
        for await event in stream {
            switch event {
            case .text(let piece, let token, _, _):
                if token >= 0 { tokens.append(token) }
                text += piece
            case .finished, .failed: finish = event
            }
        }
        return (tokens, text, finish)
    }

    /// `run` (a session generating alone) and `serve` with one slot or four give the same tokens.
    @Test(arguments: ["smollm2-135m", "gemma3-270m"], [1, 4])
    func batchedGreedyEqualsAlone(model: String, slots: Int) async throws {
        let loaded = try #require(try Self.models[model])
        let engine = GenerationEngine(loaded: loaded, slots: slots, slotContext: 256)
        let prompts = Self.prompts.map { loaded.tokenizer.encode($0, addBOS: loaded.tokenizer.addsBOS, parseSpecialTokens: false) }
        let results = try await withThrowingTaskGroup(of: (Int, [Int32]).self) { group in
            for (i, prompt) in prompts.enumerated() {
                let stream = try engine.submit(GenerationRequest(prompt: prompt, maxTokens: 24, sampling: .greedy))
                group.addTask { (i, await Self.collect(stream).tokens) }
            }
            var out = [[Int32]](repeating: [], count: prompts.count)
            for try await (i, tokens) in group { out[i] = tokens }
            return out
        }
        for (i, prompt) in prompts.enumerated() {
            let single = try Self.alone(loaded, prompt, maxTokens: 24)
            #expect(results[i] == single, "\(model) \(slots) slots, prompt \(i): batched \(results[i]) alone \(single)")
        }
    }

    /// `serve --kv-type f32`: the slots' caches are f32, and answers equal a session with an f32 cache.
    @Test func f32CachesAnswerAsAnF32SessionDoes() async throws {
        let loaded = try #require(try Self.models["smollm2-135m"])
        let engine = GenerationEngine(loaded: loaded, slots: 2, slotContext: 256, kvType: .f32)
        #expect(engine.driver.kvType == .f32)
        for text in Self.prompts.prefix(2) {
            let prompt = loaded.tokenizer.encode(text, addBOS: loaded.tokenizer.addsBOS, parseSpecialTokens: false)
            let stream = try engine.submit(GenerationRequest(prompt: prompt, maxTokens: 24, sampling: .greedy))
            let served = await Self.collect(stream).tokens
            #expect(served == (try Self.alone(loaded, prompt, maxTokens: 24, kvType: .f32)), "\(text)")
        }
    }

    /// Requests that arrive together with one long prefix (a shared system prompt) evaluate it
    /// once: the first computes it, the others wait a pass and copy its cells. Every answer still
    /// equals its prompt generated alone.
    @Test(arguments: ["smollm2-135m", "gemma3-270m"])
    func concurrentRequestsEvaluateASharedPrefixOnce(model: String) async throws {
        let loaded = try #require(try Self.models[model])
        let engine = GenerationEngine(loaded: loaded, slots: 4, slotContext: 256)
        let preamble = "You are a careful assistant. Answer in one short sentence, without any preamble or apology. Question: "
        let prompts = ["What is the capital of France?", "How many legs does a spider have?", "Why is the sky blue?", "What do bees make?"]
            .map { loaded.tokenizer.encode(preamble + $0, addBOS: loaded.tokenizer.addsBOS, parseSpecialTokens: false) }
        var shared = 0
        while prompts.allSatisfy({ $0[shared] == prompts[0][shared] }) { shared += 1 }
        #expect(shared >= PrefixPlan.minimumAwaitedPrefix)
        let streams = try prompts.map { try engine.submit(GenerationRequest(prompt: $0, maxTokens: 12, sampling: .greedy)) }
        var results: [(tokens: [Int32], text: String, finish: GenerationEvent?)] = []
        for stream in streams { results.append(await Self.collect(stream)) }
        // Generated alone only now: the engine's driver and a session must not share the model at once.
        var cached: [Int] = []
        for (prompt, result) in zip(prompts, results) {
            #expect(result.tokens == (try Self.alone(loaded, prompt, maxTokens: 12)), "\(model): \(result.text)")
            guard case .finished(_, _, _, let fromCache)? = result.finish else { Issue.record("no finish"); continue }
            cached.append(fromCache)
        }
        // One evaluates the prefix; the others copy at least the part all four share.
        #expect(
            cached.filter { $0 == 0 }.count == 1 && cached.filter { $0 >= shared }.count == 3,
            "\(model): shared prefix \(shared), cached \(cached)")
    }

    @Test func repeatedPromptReusesTheSlotsCache() async throws {
        let loaded = try #require(try Self.models["smollm2-135m"])
        let engine = GenerationEngine(loaded: loaded, slots: 1, slotContext: 256)
        let prompt = loaded.tokenizer.encode("The capital of France is", addBOS: false, parseSpecialTokens: false)
        let first = await Self.collect(try engine.submit(GenerationRequest(prompt: prompt, maxTokens: 8, sampling: .greedy)))
        let second = await Self.collect(try engine.submit(GenerationRequest(prompt: prompt, maxTokens: 8, sampling: .greedy)))
        #expect(first.tokens == second.tokens)
        guard case .finished(_, _, _, let cached)? = second.finish else { Issue.record("no finish"); return }
        #expect(cached == prompt.count - 1)
    }

    @Test func stopStringEndsTheTextBeforeIt() async throws {
        let loaded = try #require(try Self.models["smollm2-135m"])
        let engine = GenerationEngine(loaded: loaded, slots: 1, slotContext: 256)
        let prompt = loaded.tokenizer.encode("1, 2, 3, 4,", addBOS: false, parseSpecialTokens: false)
        let free = await Self.collect(try engine.submit(GenerationRequest(prompt: prompt, maxTokens: 16, sampling: .greedy)))
        #expect(free.text.contains("7"))
        let stopped = await Self.collect(
            try engine.submit(GenerationRequest(prompt: prompt, maxTokens: 16, sampling: .greedy, stop: ["7"])))
        #expect(stopped.text == String(free.text[..<free.text.firstRange(of: "7")!.lowerBound]))
        guard case .finished(let reason, _, _, _)? = stopped.finish else { Issue.record("no finish"); return }
        #expect(reason == .stop)
    }

    /// A token limit that falls inside a character (SmolLM2 writes Japanese kana as several byte
    /// tokens) ends the text before that character: no U+FFFD, no part of it.
    @Test func tokenLimitInsideACharacterDropsIt() async throws {
        let loaded = try #require(try Self.models["smollm2-135m"])
        let tokenizer = loaded.tokenizer
        let prompt = tokenizer.encode(
            "English: thank you. Japanese: ありがとう. English: good morning. Japanese:", addBOS: tokenizer.addsBOS,
            parseSpecialTokens: false)
        let alone = try Self.alone(loaded, prompt, maxTokens: 16)
        // The first length at which the answer's bytes end inside a character, and its whole characters.
        var decoder = IncrementalDecoder(tokenizer: tokenizer)
        var whole = "", cut: Int?
        for (i, token) in alone.enumerated() {
            whole += decoder.push(token)
            var probe = decoder
            if !probe.flush().isEmpty { cut = i + 1; break }
        }
        let limit = try #require(cut, "the greedy answer \(tokenizer.decode(alone)) never ends inside a character")
        let engine = GenerationEngine(loaded: loaded, slots: 1, slotContext: 256)
        let result = await Self.collect(try engine.submit(GenerationRequest(prompt: prompt, maxTokens: limit, sampling: .greedy)))
        #expect(result.tokens == Array(alone.prefix(limit)))
        #expect(result.text == whole)
        #expect(!result.text.unicodeScalars.contains("\u{FFFD}"), "\(result.text)")
        #expect(tokenizer.decode(Array(alone.prefix(limit))).hasSuffix("\u{FFFD}"))
        guard case .finished(.length, _, limit, _)? = result.finish else {
            Issue.record("finish: \(String(describing: result.finish))"); return
        }
    }

    /// A consumer that goes away frees its slot within one decode step.
    @Test func cancellationFreesTheSlot() async throws {
        let loaded = try #require(try Self.models["smollm2-135m"])
        let engine = GenerationEngine(loaded: loaded, slots: 1, slotContext: 512)
        let prompt = loaded.tokenizer.encode("Once upon a time", addBOS: false, parseSpecialTokens: false)
        do {
            let stream = try engine.submit(GenerationRequest(prompt: prompt, maxTokens: 400, sampling: .greedy))
            var seen = 0
            for await _ in stream {
                seen += 1
                if seen == 3 { break }
            }
        }
        let clock = ContinuousClock()
        let start = clock.now
        while engine.load.busy > 0, clock.now - start < .seconds(5) { try await Task.sleep(for: .milliseconds(5)) }
        #expect(engine.load.busy == 0)
    }

    static func waitUntil(_ condition: () -> Bool, seconds: Int = 20) async throws {
        let clock = ContinuousClock()
        let start = clock.now
        while !condition(), clock.now - start < .seconds(seconds) { try await Task.sleep(for: .milliseconds(1)) }
    }

    /// A consumer that goes away while its long prompt is being evaluated frees the slot within
    /// two passes (the prompt is read in chunks, and cancellation is checked between them), long
    /// before the prompt would have ended.
    @Test func cancellationDuringPrefillFreesTheSlotWithinTwoPasses() async throws {
        let loaded = try #require(try Self.models["smollm2-135m"])
        let chunk = 8
        let engine = GenerationEngine(loaded: loaded, slots: 1, slotContext: 1024, prefillChunk: chunk)
        let text = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 90)
        let prompt = Array(loaded.tokenizer.encode(text, addBOS: false, parseSpecialTokens: false).prefix(800))
        let promptPasses = (prompt.count + chunk - 1) / chunk
        let stream = try engine.submit(GenerationRequest(prompt: prompt, maxTokens: 4, sampling: .greedy))
        let consumer = Task { await Self.collect(stream) }
        try await Self.waitUntil { engine.passesRun >= 3 }
        consumer.cancel()
        let atCancel = engine.passesRun
        try await Self.waitUntil { engine.load.busy == 0 }
        let atFree = engine.passesRun
        #expect(engine.load.busy == 0)
        #expect(atFree - atCancel <= 2, "passes: \(atCancel) at cancellation, \(atFree) when the slot was free")
        #expect(atFree < promptPasses / 2, "the prompt needs \(promptPasses) passes")
    }

    /// A waiting request whose consumer goes away leaves the queue at once, while the slot is
    /// still busy, and is never started.
    @Test func cancelledWaitingRequestLeavesTheQueueAtOnce() async throws {
        let loaded = try #require(try Self.models["smollm2-135m"])
        let engine = GenerationEngine(loaded: loaded, slots: 1, slotContext: 512)
        let prompt = loaded.tokenizer.encode("Once upon a time", addBOS: false, parseSpecialTokens: false)
        let running = try engine.submit(GenerationRequest(prompt: prompt, maxTokens: 64, sampling: .greedy))
        try await Self.waitUntil { engine.load.busy == 1 }
        let waiting = try engine.submit(GenerationRequest(prompt: prompt + prompt, maxTokens: 400, sampling: .greedy))
        #expect(engine.load.queued == 1)
        let consumer = Task { await Self.collect(waiting) }
        try await Self.waitUntil { engine.passesRun >= 1 }
        consumer.cancel()
        _ = await consumer.value
        #expect(engine.load.queued == 0)
        let first = await Self.collect(running)
        #expect(first.finish == .finished(.length, promptTokens: prompt.count, completionTokens: 64, cachedPromptTokens: 0))
        // The running request took one pass per token; nothing else runs afterwards.
        try await Task.sleep(for: .milliseconds(200))
        #expect(engine.passesRun == 64)
        #expect(engine.load.busy == 0)
    }

    /// `cancelAll()` ends running and waiting requests alike with `.cancelled`; the engine then
    /// serves new requests as usual.
    @Test func cancelAllEndsEveryRequestCancelled() async throws {
        let loaded = try #require(try Self.models["smollm2-135m"])
        let engine = GenerationEngine(loaded: loaded, slots: 2, slotContext: 512)
        let prompt = loaded.tokenizer.encode("Once upon a time", addBOS: false, parseSpecialTokens: false)
        let streams = try (0..<5).map { i in
            try engine.submit(GenerationRequest(prompt: prompt + [Int32(100 + i)], maxTokens: 400, sampling: .greedy))
        }
        try await Self.waitUntil { engine.load.busy == 2 }
        #expect(engine.load == (queued: 3, busy: 2))
        engine.cancelAll()
        for (i, stream) in streams.enumerated() {
            let result = await Self.collect(stream)
            guard case .finished(let reason, _, let completion, _)? = result.finish else {
                Issue.record("request \(i): no finish"); continue
            }
            #expect(reason == .cancelled, "request \(i)")
            #expect(completion < 400, "request \(i)")
        }
        try await Self.waitUntil { engine.load.busy == 0 }
        #expect(engine.load == (queued: 0, busy: 0))
        let after = await Self.collect(try engine.submit(GenerationRequest(prompt: prompt, maxTokens: 3, sampling: .greedy)))
        #expect(after.tokens.count == 3)
    }

    @Test func fullQueueIsRefused() throws {
        let loaded = try #require(try Self.models["smollm2-135m"])
        let engine = GenerationEngine(loaded: loaded, slots: 1, slotContext: 256, queueLimit: 2)
        let prompt: [Int32] = [1, 2, 3]
        var streams: [AsyncStream<GenerationEvent>] = []
        var refused = false
        for _ in 0..<8 {
            do {
                streams.append(try engine.submit(GenerationRequest(prompt: prompt, maxTokens: 200, sampling: .greedy)))
            } catch is EngineBusy { refused = true }
        }
        #expect(refused)
        streams.removeAll()
    }
}
