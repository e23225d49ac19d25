import Compute
import Foundation
import ModelStore
import Models
import Sampling
import Testing
import Tokenizers

/// SmolLM2-135M-Instruct Q4_1: perplexity against llama.cpp 0c1e57098 on the same file, cache
/// types, limits, sampling. Fidelity to the exact computation: FidelityTests.
@Suite(.serialized, .tags(.model)) struct SmolLM2Tests {
    /// Pulled if the store lacks it; a failure fails the tests that need it, not the test run.
    static let model = Result {
        try ModelLoader.load(path: try ModelStore().resolve("smollm2-135m"), backend: CPUBackend(threads: CPUBackend.defaultThreadCount))
    }
    static var loaded: LoadedModel { get throws { try model.get() } }

    /// How far two distributions of the same model may differ in top-5 log-probability when only
    /// the KV cache's element type differs (f16 rounding of keys and values).
    static let logprobTolerance = 0.6

    @Test(.tags(.slow), arguments: [(128, 24.28), (512, 18.3459)])
    func perplexityOnGPL3WithinHalfAPercentOfLlamaCpp(context: Int, expected: Double) throws {
        let text = try String(contentsOfFile: "/usr/share/common-licenses/GPL-3", encoding: .utf8)
        let session = try InferenceSession(model: (try Self.loaded).model, contextLength: context)
        let result = try session.perplexity(text: text, tokenizer: (try Self.loaded).tokenizer)
        print("PPL n_ctx \(context): \(result.perplexity) (llama.cpp \(expected)), \(result.chunks) chunks, \(result.seconds) s")
        #expect(abs(result.perplexity - expected) / expected <= 0.005)
        if context == 128 { #expect(result.chunks == 59) }
    }

    /// f16 and f32 caches run the same math on differently rounded keys and values. On this model
    /// the 8-bit activation rounding turns last-bit differences into visible logit changes, so the
    /// check is on what matters: the same next token, and top-5 log-probabilities within 0.6 nats.
    /// (Batched prefill and one-token steps give the same bits: ChunkingInvarianceTests.)
    func expectSameDistribution(_ a: [Float], _ b: [Float], _ what: String) {
        #expect(Sampler.argmax(a) == Sampler.argmax(b), "\(what): different next token")
        let top = a.indices.sorted { a[$0] > a[$1] }.prefix(5)
        let worst = top.map { abs(logSoftmax(a, at: $0) - logSoftmax(b, at: $0)) }.max()!
        #expect(worst <= Self.logprobTolerance, "\(what): top-5 logprob difference \(worst)")
        print("\(what): worst top-5 logprob difference \(worst) nats")
    }

    @Test func f16AndF32CachesAgree() throws {
        let prompt: [Int32] = [504, 3575, 282, 4649, 314]
        let half = try InferenceSession(model: (try Self.loaded).model, contextLength: 32, kvType: .f16).evaluate(prompt)
        let full = try InferenceSession(model: (try Self.loaded).model, contextLength: 32, kvType: .f32).evaluate(prompt)
        expectSameDistribution(half, full, "f16 vs f32 cache")
        #expect(half != full, "f16 and f32 caches should not be bit-identical")
    }

    @Test func contextLimitIsEnforcedWithAClearMessage() throws {
        let session = try InferenceSession(model: (try Self.loaded).model, contextLength: 8)
        var sampler = Sampler(.greedy)
        let long = [Int32](repeating: 504, count: 9)
        #expect(throws: ModelError.self) { try session.evaluate(long) }
        do {
            _ = try session.generate(prompt: long, maxTokens: 4, sampler: &sampler, tokenizer: (try Self.loaded).tokenizer) { _ in true }
            Issue.record("a prompt longer than the context was accepted")
        } catch {
            #expect("\(error)".contains("context"))
        }
        #expect(throws: ModelError.self) {
            _ = try session.generate(prompt: [], maxTokens: 4, sampler: &sampler, tokenizer: (try Self.loaded).tokenizer) { _ in true }
        }
        // Generation stops when the context is full instead of failing.
        let stats = try session.generate(
            prompt: [504, 3575, 282], maxTokens: 100, sampler: &sampler, tokenizer: (try Self.loaded).tokenizer
        ) { _ in true }
        #expect(stats.generatedTokens <= 6)
        #expect(session.position <= 8)
    }

    @Test func outOfVocabularyTokenIsRejected() throws {
        let session = try InferenceSession(model: (try Self.loaded).model, contextLength: 8)
        #expect(throws: ModelError.self) { try session.evaluate([49152]) }
        #expect(throws: ModelError.self) { try session.evaluate([-1]) }
    }

    @Test func seededSamplingIsReproducible() throws {
        func run(_ seed: UInt64) throws -> [Int32] {
            var p = SamplingParameters()
            p.seed = seed
            var sampler = Sampler(p)
            let session = try InferenceSession(model: (try Self.loaded).model, contextLength: 64)
            var out: [Int32] = []
            _ = try session.generate(
                prompt: [504, 3575, 282, 4649, 314], maxTokens: 16, sampler: &sampler, tokenizer: (try Self.loaded).tokenizer
            ) {
                out.append($0)
                return true
            }
            return out
        }
        #expect(try run(42) == run(42))
        #expect(try run(42) != run(43))
    }
}
