import Adapters
import Compute
import FineTuning
import Foundation
import GGUF
import ModelStore
import Models
import TensorOps
import Testing

/// What training computes with its LoRA matrices is what inference computes with the adapter file
/// written from them (`atelier run --lora`): the file's layout, the scale rule and both forward
/// passes agree.
@Suite(.tags(.model), .serialized) struct AdapterRoundTripTests {
    @Test(arguments: ["smollm2-135m", "gemma3-270m"])
    func trainedUpdateEqualsTheAdapterAtInference(model name: String) throws {
        let path = try ModelStore().resolve(name)
        let backend = CPUTensorBackend(threads: 2)
        let (model, tokenizer) = try FineTuningModels.load(
            file: try GGUFFile(path: path), lora: try LoRAConfiguration(rank: 8, alpha: 16), backend: backend, seed: 3)
        // B starts at zero; give it values so the update is not zero (small: the model stays sane).
        for (index, parameter) in model.parameters.enumerated() where parameter.name.hasSuffix(".lora_b") {
            let values = (0..<parameter.value.count).map { Float(0.01 * sin(Double($0 * 7 + index))) }
            parameter.assign(backend.tensor(values, shape: parameter.shape))
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("roundtrip-\(name)-\(getpid()).gguf").path
        defer { try? FileManager.default.removeItem(atPath: file) }
        try model.adapter(alpha: 16).write(to: file)
        let adapter = try LoRAAdapter.read(path: file)
        #expect(adapter.pairs.count == model.adapted.count)

        let token = Array(tokenizer.encode(" review", addBOS: false, parseSpecialTokens: false).prefix(1))
        let loaded = try ModelLoader.load(path: path, backend: CPUBackend(threads: 2, repacksWeights: false), adapters: [(adapter, 1)])
        let plain = try ModelLoader.load(path: path, backend: CPUBackend(threads: 2, repacksWeights: false))
        func inference(_ m: LoadedModel) throws -> [Float] {
            let ws = m.model.makeWorkspace(batchCapacity: 1, logitRows: 1)
            let cache = try m.model.makeKVCache(contextLength: 1, batchCapacity: 1, kvType: .f32)
            m.model.forward(token, firstPosition: 0, cache: cache, workspace: ws)
            m.model.logits(rows: 0..<1, workspace: ws)
            return Array(UnsafeBufferPointer(start: ws("logits", rows: 1).floats, count: ws("logits", rows: 1).columns))
        }
        let (adapted, base) = (try inference(loaded), try inference(plain))
        let training = backend.floats(model.logits(backend.tensor(token, shape: [1, 1])).value)
        let effect = zip(adapted, base).map { abs($0 - $1) }.max()!
        let gap = zip(adapted, training).map { abs($0 - $1) }.max()!
        print("\(name): the adapter moves logits by up to \(effect); training vs inference with it: \(gap)")
        #expect(effect > 0.1)
        #expect(gap <= 0.01 * effect)
    }
}
