import Compute
import Foundation
import Models
import ModelStore
import Sampling
import Testing
import Tokenizers

/// SmolLM2-135M-Instruct Q4_1 against llama.cpp 0c1e57098 on the same file.
@Suite(.serialized) struct SmolLM2Tests {
    static let loaded: LoadedModel = {
        let path = try! ModelStore().resolve("smollm2-135m")
        return try! ModelLoader.load(path: path, backend: CPUBackend(threads: CPUBackend.defaultThreadCount))
    }()

    /// Every step is teacher-forced (it continues from llama.cpp's token), so all 64 steps of each
    /// prompt are compared, not only those before the first near-tie.
    ///
    /// Token ids are compared where llama.cpp's own choice is robust. llama.cpp moves a step's
    /// greedy margin (top-1 minus top-2 logprob) by up to 0.21–0.35 nats on SmolLM2 and 0.29–0.67
    /// on Gemma 3 just between its flash-attention settings and its reference run
    /// (`scripts/llamacpp-self-variance.py MODEL REFERENCE`, docs/BENCHMARKS.md): it flips its
    /// step-14 token on "The capital of France is" (margin 0.059) with `-fa off`, and Gemma 3's
    /// step 7 on "def fibonacci(n):" (margin 0.22) moves to 0.43 with `-fa on` in llama-server.
    /// Steps below 0.5 nats are therefore not a property of the model, and any change of summation
    /// order (ours included) may flip them (ours flips SmolLM2's step 24 on "def fibonacci(n):",
    /// margin 0.38).
    ///
    /// Logprobs are bounded on the tokens llama.cpp gives at least e^-3 ≈ 5%, the candidates that
    /// matter for sampling; tail tokens (−8 nats and below) differ by up to ~0.75 nats deep into a
    /// sequence. The issue's target for top-5 logprobs is 0.05 nats, which is NOT met and cannot
    /// be: llama.cpp disagrees with itself by 0.24–0.54 nats on these prompts between flash
    /// attention on and off; this model's massive activations (|x| up to ~22,600) make 8-bit
    /// activation blocks amplify any last-bit difference. The bound keeps ours from silently growing.
    static let robustMargin = 0.5
    static let logprobTolerance = 0.6
    static let likely = -3.0

    @Test func greedyIdsAndTopLogprobsMatchLlamaCpp() throws {
        let reference = try LlamaCppReference.load()
        let tokenizer = Self.loaded.tokenizer
        for case_ in reference.greedy {
            #expect(tokenizer.encode(case_.prompt, addBOS: tokenizer.addsBOS, parseSpecialTokens: true) == case_.prompt_ids)
            let session = try InferenceSession(model: Self.loaded.model, contextLength: 256)
            var logits = try session.evaluate(case_.prompt_ids)
            var worst = 0.0, worstLikely = 0.0, robust = 0
            let steps = case_.generated_ids.count
            for step in 0..<steps {
                if case_.margin_per_step[step] >= Self.robustMargin {
                    robust += 1
                    #expect(Sampler.argmax(logits) == case_.generated_ids[step], "\(case_.prompt) step \(step)")
                }
                for pair in case_.top5_per_step[step] {
                    let ours = logSoftmax(logits, at: Int(pair[0]))
                    worst = max(worst, abs(ours - pair[1]))
                    guard pair[1] >= Self.likely else { continue }
                    worstLikely = max(worstLikely, abs(ours - pair[1]))
                    #expect(abs(ours - pair[1]) <= Self.logprobTolerance, "\(case_.prompt) step \(step) token \(Int(pair[0])): \(ours) vs \(pair[1])")
                }
                logits = try session.evaluate([case_.generated_ids[step]])
            }
            print("greedy \"\(case_.prompt)\": \(steps) steps compared (ids on \(robust) robust ones), worst top-5 logprob difference \(worst) nats, \(worstLikely) on tokens llama.cpp gives ≥ 5%")
        }
    }

    @Test(arguments: [(128, 24.28), (512, 18.3459)])
    func perplexityOnGPL3WithinHalfAPercentOfLlamaCpp(context: Int, expected: Double) throws {
        let text = try String(contentsOfFile: "/usr/share/common-licenses/GPL-3", encoding: .utf8)
        let session = try InferenceSession(model: Self.loaded.model, contextLength: context)
        let result = try session.perplexity(text: text, tokenizer: Self.loaded.tokenizer)
        print("PPL n_ctx \(context): \(result.perplexity) (llama.cpp \(expected)), \(result.chunks) chunks, \(result.seconds) s")
        #expect(abs(result.perplexity - expected) / expected <= 0.005)
        if context == 128 { #expect(result.chunks == 59) }
    }

    /// Batched prefill and one-token steps, or f16 and f32 caches, run the same math in a
    /// different order. On this model the 8-bit activation rounding turns last-bit differences
    /// into visible logit changes (see above), so the check is on what matters: the same next
    /// token, and log-probabilities of the top five within the same bound as against llama.cpp.
    /// (The tiny F32 model in TinyLlamaTests checks the paths agree to 1e-3.)
    func expectSameDistribution(_ a: [Float], _ b: [Float], _ what: String) {
        #expect(Sampler.argmax(a) == Sampler.argmax(b), "\(what): different next token")
        let top = a.indices.sorted { a[$0] > a[$1] }.prefix(5)
        let worst = top.map { abs(logSoftmax(a, at: $0) - logSoftmax(b, at: $0)) }.max()!
        #expect(worst <= Self.logprobTolerance, "\(what): top-5 logprob difference \(worst)")
        print("\(what): worst top-5 logprob difference \(worst) nats")
    }

    @Test func batchedPrefillAgreesWithTokenByTokenDecode() throws {
        let prompt: [Int32] = [504, 3575, 282, 4649, 314, 7042, 30, 198, 198, 504, 1797]
        let all = try InferenceSession(model: Self.loaded.model, contextLength: 64).evaluate(prompt)
        let stepwise = try InferenceSession(model: Self.loaded.model, contextLength: 64, batchCapacity: 1)
        var last: [Float] = []
        for token in prompt { last = try stepwise.evaluate([token]) }
        expectSameDistribution(all, last, "batched vs token by token")
    }

    @Test func f16AndF32CachesAgree() throws {
        let prompt: [Int32] = [504, 3575, 282, 4649, 314]
        let half = try InferenceSession(model: Self.loaded.model, contextLength: 32, kvType: .f16).evaluate(prompt)
        let full = try InferenceSession(model: Self.loaded.model, contextLength: 32, kvType: .f32).evaluate(prompt)
        expectSameDistribution(half, full, "f16 vs f32 cache")
        #expect(half != full, "f16 and f32 caches should not be bit-identical")
    }

    @Test func contextLimitIsEnforcedWithAClearMessage() throws {
        let session = try InferenceSession(model: Self.loaded.model, contextLength: 8)
        var sampler = Sampler(.greedy)
        let long = [Int32](repeating: 504, count: 9)
        #expect(throws: ModelError.self) { try session.evaluate(long) }
        do {
            _ = try session.generate(prompt: long, maxTokens: 4, sampler: &sampler, tokenizer: Self.loaded.tokenizer) { _ in true }
            Issue.record("a prompt longer than the context was accepted")
        } catch {
            #expect("\(error)".contains("context"))
        }
        #expect(throws: ModelError.self) {
            _ = try session.generate(prompt: [], maxTokens: 4, sampler: &sampler, tokenizer: Self.loaded.tokenizer) { _ in true }
        }
        // Generation stops when the context is full instead of failing.
        let stats = try session.generate(prompt: [504, 3575, 282], maxTokens: 100, sampler: &sampler, tokenizer: Self.loaded.tokenizer) { _ in true }
        #expect(stats.generatedTokens <= 6)
        #expect(session.position <= 8)
    }

    @Test func outOfVocabularyTokenIsRejected() throws {
        let session = try InferenceSession(model: Self.loaded.model, contextLength: 8)
        #expect(throws: ModelError.self) { try session.evaluate([49152]) }
        #expect(throws: ModelError.self) { try session.evaluate([-1]) }
    }

    @Test func seededSamplingIsReproducible() throws {
        func run(_ seed: UInt64) throws -> [Int32] {
            var p = SamplingParameters()
            p.seed = seed
            var sampler = Sampler(p)
            let session = try InferenceSession(model: Self.loaded.model, contextLength: 64)
            var out: [Int32] = []
            _ = try session.generate(prompt: [504, 3575, 282, 4649, 314], maxTokens: 16, sampler: &sampler, tokenizer: Self.loaded.tokenizer) {
                out.append($0)
                return true
            }
            return out
        }
        #expect(try run(42) == run(42))
        #expect(try run(42) != run(43))
    }
}
