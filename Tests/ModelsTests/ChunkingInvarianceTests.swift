import Compute
import ModelStore
import Models
import Testing

/// One answer per prompt, by construction: every kernel and the attention compute a row the same
/// way whatever shares its pass, so a prompt's logits are the same bits whether it is evaluated in
/// one batch (`atelier run`), in chunks (a server slot's prompt beside other requests' rows, or a
/// chat turn after a cached prefix), or token by token.
@Suite(.serialized, .tags(.slow, .model)) struct ChunkingInvarianceTests {
    static let prompts = [
        "The capital of France is",
        "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
        "Once upon a time, in a small village by the sea, there lived an old fisherman who",
    ]

    @Test(arguments: ["smollm2-135m", "gemma3-270m"], [KVCacheType.f16, .f32])
    func promptLogitsAreTheSameBitsInAnyChunking(_ model: String, kvType: KVCacheType) throws {
        let loaded = try ModelLoader.load(
            path: try ModelStore().resolve(model), backend: CPUBackend(threads: CPUBackend.defaultThreadCount))
        let tokenizer = loaded.tokenizer
        for prompt in Self.prompts {
            let tokens = tokenizer.encode(prompt, addBOS: tokenizer.addsBOS, parseSpecialTokens: false)
            func logits(batch: Int) throws -> [Float] {
                try InferenceSession(model: loaded.model, contextLength: 128, kvType: kvType, batchCapacity: batch).evaluate(tokens)
            }
            let whole = try logits(batch: 512)
            for batch in [1, 3, 5] {
                let chunked = try logits(batch: batch)
                #expect(
                    chunked.map(\.bitPattern) == whole.map(\.bitPattern),
                    "\(model) \(kvType) \"\(prompt)\": chunks of \(batch) give other logits than one batch")
            }
            // A prefix already in the cache, the rest evaluated after it (a chat turn, a shared prefix).
            let session = try InferenceSession(model: loaded.model, contextLength: 128, kvType: kvType)
            try session.evaluate(Array(tokens.prefix(tokens.count / 2)))
            let resumed = try session.evaluate(Array(tokens.dropFirst(tokens.count / 2)))
            #expect(resumed.map(\.bitPattern) == whole.map(\.bitPattern), "\(model) \(kvType) \"\(prompt)\": prefix then rest differs")
        }
    }
}
