import Adapters
import Compute
import Foundation
import GGUF
import ModelStore
import Models
import Sampling
import Testing

/// Adapters on a real model (SmolLM2-135M-Instruct Q4_1): applied at run time and merged.
@Suite(.serialized, .tags(.model)) struct SmolLM2AdapterTests {
    static let path = Result { try ModelStore().resolve("smollm2-135m") }
    static let prompt: [Int32] = [504, 3575, 282, 4649, 314, 260, 1345, 282]

    static func backend() -> CPUBackend { CPUBackend(threads: CPUBackend.defaultThreadCount) }

    static func logits(_ loaded: LoadedModel) throws -> [Float] {
        try InferenceSession(model: loaded.model, contextLength: 64).evaluate(prompt)
    }

    static func greedy(_ loaded: LoadedModel, tokens: Int = 16) throws -> [Int32] {
        let session = try InferenceSession(model: loaded.model, contextLength: 64)
        var sampler = Sampler(.greedy)
        var ids: [Int32] = []
        _ = try session.generate(prompt: prompt, maxTokens: tokens, sampler: &sampler, tokenizer: loaded.tokenizer) { id in
            ids.append(id)
            return true
        }
        return ids
    }

    /// Rank 4 on all seven projections of every block, values small enough to keep the model sane.
    static func randomAdapter(zeroB: Bool = false) throws -> LoRAAdapter {
        try AdapterFixtures.adapter(for: try GGUFFile(path: try path.get()), rank: 4, amplitude: 0.02, alpha: 8, seed: 11, zeroB: zeroB)
    }

    @Test func zeroBGivesExactlyTheBaseLogits() throws {
        let path = try Self.path.get()
        let base = try Self.logits(try ModelLoader.load(path: path, backend: Self.backend()))
        let adapted = try Self.logits(
            try ModelLoader.load(path: path, backend: Self.backend(), adapters: [(try Self.randomAdapter(zeroB: true), 1)]))
        #expect(adapted == base)
    }

    @Test func aNonzeroAdapterChangesTheLogits() throws {
        let path = try Self.path.get()
        let base = try Self.logits(try ModelLoader.load(path: path, backend: Self.backend()))
        let adapted = try Self.logits(try ModelLoader.load(path: path, backend: Self.backend(), adapters: [(try Self.randomAdapter(), 1)]))
        let largest = zip(base, adapted).map { abs($0 - $1) }.max()!
        print("largest logit change: \(largest)")
        #expect(largest > 1e-3)
        #expect(adapted.allSatisfy { $0.isFinite })
    }

    @Test func runTimeAdapterAndMergedModelGenerateTheSameTokens() throws {
        let path = try Self.path.get()
        let adapter = try Self.randomAdapter()
        let adapterPath = AdapterFixtures.temporaryPath("smollm2-random-lora.gguf")
        try adapter.write(to: adapterPath)
        let reread = try LoRAAdapter.read(path: adapterPath)
        let live = try Self.greedy(try ModelLoader.load(path: path, backend: Self.backend(), adapters: [(reread, 1)]))

        let mergedPath = AdapterFixtures.temporaryPath("smollm2-merged-f32.gguf")
        try LoRAMerge.merge(base: try GGUFFile(path: path), adapters: [(reread, 1)], outputType: .f32, to: mergedPath)
        let merged = try Self.greedy(try ModelLoader.load(path: mergedPath, backend: Self.backend()))
        let plain = try Self.greedy(try ModelLoader.load(path: path, backend: Self.backend()))
        print("adapter: \(live)\nmerged:  \(merged)\nbase:    \(plain)")
        #expect(live.count >= 8, "the adapter should not end the text at once")
        #expect(live == merged)
        try? FileManager.default.removeItem(atPath: mergedPath)
    }

    @Test func loaderRefusesAdaptersForOtherModelsOrOtherTensors() throws {
        let path = try Self.path.get()
        var adapter = try Self.randomAdapter()
        adapter.architecture = "gemma3"
        #expect(throws: ModelError.self) { try ModelLoader.load(path: path, backend: Self.backend(), adapters: [(adapter, 1)]) }

        adapter = try Self.randomAdapter()
        adapter.pairs["blk.0.attn_q.weight"] = try AdapterFixtures.pair(rank: 4, inputs: 960, outputs: 960, seed: 3)
        do {
            _ = try ModelLoader.load(path: path, backend: Self.backend(), adapters: [(adapter, 1)])
            Issue.record("an adapter for another base was accepted")
        } catch {
            #expect("\(error)".contains("for another base model") && "\(error)".contains("[576, 576]"), "\(error)")
        }

        adapter = try Self.randomAdapter()
        adapter.pairs["token_embd.weight"] = try AdapterFixtures.pair(rank: 4, inputs: 576, outputs: 49152, seed: 3)
        #expect(throws: ModelError.self) { try ModelLoader.load(path: path, backend: Self.backend(), adapters: [(adapter, 1)]) }
        #expect(AdapterTargets.parse("blk.3.attn_q.weight")! == (3, "attn_q"))
        #expect(AdapterTargets.parse("blk.3.attn_norm.weight") == nil)
        #expect(AdapterTargets.parse("output.weight") == nil)
    }
}
