// The exported file run by the inference engine: its logits against an f64 forward written from docs/TRAINING.md.
import Compute
import Foundation
import GGUF
import Models
import Quantization
import Testing
import Tokenizers

@testable import Training

@Suite struct GGUFInferenceTests {
    static let tokens: [Int32] = [84, 104, 101, 32, 255, 0, 113, 17, 200, 101]

    /// The engine's logits for every position of `tokens`.
    private func engineLogits(_ path: String, tokens: [Int32]) throws -> (logits: [[Float]], tokenizer: any Tokenizer) {
        let loaded = try ModelLoader.load(path: path, backend: CPUBackend(threads: 2))
        let session = try InferenceSession(model: loaded.model, contextLength: 16, kvType: .f32, logitRows: tokens.count)
        var logits: [[Float]] = Array(repeating: [], count: tokens.count)
        try session.evaluate(tokens, scoredIndices: 0..<tokens.count) { index, row in logits[index] = Array(row) }
        return (logits, loaded.tokenizer)
    }

    /// max |engine − reference| over max |reference|, over every position and token.
    private func relativeError(_ engine: [[Float]], _ reference: [[Double]]) -> Double {
        var worst = 0.0, scale = 0.0
        for (e, r) in zip(engine, reference) {
            #expect(e.count == r.count)
            for (a, b) in zip(e, r) {
                worst = max(worst, abs(Double(a) - b))
                scale = max(scale, abs(b))
            }
        }
        return worst / scale
    }

    /// What the file's tensors hold once dequantized: the weights the engine actually runs.
    private func storedWeights(_ path: String, like weights: NamedWeights) throws -> NamedWeights {
        let file = try GGUFFile(path: path)
        var stored = NamedWeights()
        for tensor in file.tensors {
            var values = [Float](repeating: 0, count: Int(tensor.elementCount))
            let data = file.data(for: tensor)
            values.withUnsafeMutableBufferPointer {
                Quantization.dequantize(tensor.type, from: data.baseAddress!, to: $0.baseAddress!, count: $0.count)
            }
            stored.set(tensor.name, shape: weights[tensor.name]!.shape, values: values)
        }
        return stored
    }

    /// The f32 file's logits equal the f64 forward of docs/TRAINING.md on the same weights:
    /// the tensor names, ggml dimensions, Q/K row order and every hyperparameter key are what
    /// the engine reads them as. Tied and untied, grouped-query attention.
    @Test(arguments: [true, false])
    func engineLogitsMatchTheReferenceForward(tied: Bool) throws {
        var h = GGUFExportTests.shape
        h.tiedEmbeddings = tied
        h.ropeTheta = 500
        h.normEpsilon = 1e-4
        let weights = ExportFixtures.randomWeights(h, seed: tied ? 11 : 12)
        let directory = try ExportFixtures.temporaryDirectory("engine")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/model.gguf"
        try GGUFExport.write(hyperparameters: h, weights: weights, tokenizer: .bytes, quantization: .f32, to: path)

        let (logits, _) = try engineLogits(path, tokens: Self.tokens)
        let reference = ReferenceLlama(h: h, weights: weights).logits(Self.tokens)
        let error = relativeError(logits, reference)
        #expect(error < 1e-4, "relative error \(error)")
    }

    /// Quantized files load and run the weights they store: the engine's logits equal the f64
    /// forward on the dequantized tensors (the engine's own activation quantization allows a
    /// looser bound than f32).
    @Test(arguments: [ExportQuantization.q8_0, .q4_1])
    func quantizedFilesRunTheirStoredWeights(quantization: ExportQuantization) throws {
        let h = GGUFExportTests.shape
        let weights = ExportFixtures.randomWeights(h, seed: 21)
        let directory = try ExportFixtures.temporaryDirectory("engine-q")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/model.gguf"
        try GGUFExport.write(hyperparameters: h, weights: weights, tokenizer: .bytes, quantization: quantization, to: path)

        let (logits, _) = try engineLogits(path, tokens: Self.tokens)
        let stored = try storedWeights(path, like: weights)
        let error = relativeError(logits, ReferenceLlama(h: h, weights: stored).logits(Self.tokens))
        // Measured 0.040 (q8_0) and 0.071 (q4_1) on this random tiny model: the engine quantizes
        // activations to 8 bits for these weight types, and random logits are small.
        #expect(error < 0.1, "relative error \(error)")
        // The stored weights are not the trained ones, so the reference must tell them apart.
        let unquantized = relativeError(logits, ReferenceLlama(h: h, weights: weights).logits(Self.tokens))
        #expect(unquantized > error)
    }

    /// The tokenizer the engine builds from the file encodes text as the vocabulary does.
    @Test func engineTokenizerEncodesLikeTheVocabulary() throws {
        var h = GGUFExportTests.shape
        let vocabulary = try ExportFixtures.handMadeVocabulary()
        h.vocabularySize = vocabulary.count
        let directory = try ExportFixtures.temporaryDirectory("engine-tok")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/model.gguf"
        try GGUFExport.write(
            hyperparameters: h, weights: ExportFixtures.randomWeights(h, seed: 5), tokenizer: vocabulary, quantization: .f32, to: path)
        let loaded = try ModelLoader.load(path: path, backend: CPUBackend(threads: 1))
        let text = "the thin thistle, In the 3 others said: 'then'.\n  the end ÿ"
        let ids = loaded.tokenizer.encode(text, addBOS: loaded.tokenizer.addsBOS, parseSpecialTokens: true)
        #expect(ids == vocabulary.encodeByReplayingMerges(text))
        #expect(ids.count < text.utf8.count && ids.contains { $0 >= 256 } && !ids.contains(255))
        #expect(loaded.tokenizer.decode(ids) == text)
        #expect(!loaded.tokenizer.addsBOS && loaded.tokenizer.bosTokenID == 255 && loaded.tokenizer.isEndOfGeneration(255))
    }
}
