import Compute
import Foundation
import ModelStore
import Models
import Sampling
import Testing

/// Gemma 3 270M Q4_K_M: perplexity against llama.cpp 0c1e57098 on the same file, sliding-window
/// rings, rewind. Fidelity to the exact computation: FidelityTests.
@Suite(.serialized, .tags(.model)) struct Gemma3Tests {
    /// Pulled if the store lacks it; a failure fails the tests that need it, not the test run.
    static let model = Result {
        try ModelLoader.load(path: try ModelStore().resolve("gemma3-270m"), backend: CPUBackend(threads: CPUBackend.defaultThreadCount))
    }
    static var loaded: LoadedModel { get throws { try model.get() } }

    @Test(.tags(.slow), arguments: [(128, 18.4190), (512, 13.8844)])
    func perplexityOnGPL3WithinHalfAPercentOfLlamaCpp(context: Int, expected: Double) throws {
        let text = try String(contentsOfFile: "/usr/share/common-licenses/GPL-3", encoding: .utf8)
        let session = try InferenceSession(model: (try Self.loaded).model, contextLength: context)
        let result = try session.perplexity(text: text, tokenizer: (try Self.loaded).tokenizer)
        print("gemma3 PPL n_ctx \(context): \(result.perplexity) (llama.cpp \(expected)), \(result.chunks) chunks, \(result.seconds) s")
        #expect(abs(result.perplexity - expected) / expected <= 0.005)
    }

    /// Sliding-window layers keep window + one batch of cells whatever the context; only the 3
    /// global layers grow with it. Hand-computed for 270M: 18 layers, layers 5, 11, 17 global,
    /// window 512, 1 KV head × 256, f16.
    @Test func slidingWindowKVStaysBounded() throws {
        let model = (try Self.loaded).model
        let capacities = model.kvCapacity(contextLength: 8192, batchCapacity: 512)
        #expect(capacities.enumerated().filter { $0.element == 8192 }.map(\.offset) == [5, 11, 17])
        #expect(capacities.filter { $0 != 8192 }.allSatisfy { $0 == 1024 })
        let small = try InferenceSession(model: model, contextLength: 2048).cache.byteCount
        let large = try InferenceSession(model: model, contextLength: 8192).cache.byteCount
        let perCell = 2 * 256 * 2  // keys + values, f16
        #expect(small == (3 * 2048 + 15 * 1024) * perCell)
        #expect(large == (3 * 8192 + 15 * 1024) * perCell)
    }

    /// Past the window, local layers reuse their ring cells. Two runs over 700 positions that fill
    /// and wrap the rings differently (256- and 64-token batches, so different ring capacities)
    /// must agree on the next token: a ring that dropped a key still inside the window, or kept
    /// one outside it, would make them differ.
    @Test func longContextBeyondTheWindowStaysConsistent() throws {
        let text = try String(contentsOfFile: "/usr/share/common-licenses/GPL-3", encoding: .utf8)
        let ids = Array((try Self.loaded).tokenizer.encode(text, addBOS: true, parseSpecialTokens: false).prefix(700))
        let batched = try InferenceSession(model: (try Self.loaded).model, contextLength: 1024, batchCapacity: 256).evaluate(ids)
        let stepwise = try InferenceSession(model: (try Self.loaded).model, contextLength: 1024, batchCapacity: 64)
        let last = try stepwise.evaluate(ids)
        // Every row is computed the same way in any chunking, so the rings' history is the only
        // thing that could make them differ.
        #expect(batched.map(\.bitPattern) == last.map(\.bitPattern))
    }

    /// A chat turn rewinds the session to where the new rendering first differs. On a ring layer
    /// (window 512 + one 64-token batch here) that works only while the cells the window needs are
    /// not yet overwritten: up to 64 positions back from the highest position written.
    @Test func rewindWithinTheRingSlackReproducesTheLogits() throws {
        let text = try String(contentsOfFile: "/usr/share/common-licenses/GPL-3", encoding: .utf8)
        let ids = Array((try Self.loaded).tokenizer.encode(text, addBOS: true, parseSpecialTokens: false).prefix(700))
        let session = try InferenceSession(model: (try Self.loaded).model, contextLength: 1024, batchCapacity: 64)
        let original = try session.evaluate(ids)
        #expect(!session.rewind(to: 700 - 65))
        #expect(session.position == 700)
        #expect(session.rewind(to: 700 - 40))
        let again = try session.evaluate(Array(ids[660...]))
        #expect(again.map(\.bitPattern) == original.map(\.bitPattern), "re-evaluated logits differ")
        // Rewound too far, the cells are gone: the session refuses rather than attend to the wrong keys.
        #expect(session.rewind(to: 700 - 64))
        #expect(!session.rewind(to: 0))
        session.reset()
        #expect(session.rewind(to: 0))
    }
}
