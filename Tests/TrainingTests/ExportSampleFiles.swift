import Foundation
import Testing
import Tokenizers

@testable import Training

/// Development only (docs/TRAINING.md, "Files"): with ATELIER_EXPORT_SAMPLES=DIR set, writes a tiny
/// random model in every export format to DIR for scripts/dev/check-export.sh to run through
/// llama.cpp, `atelier` and the Python references. Without it the test is skipped.
@Suite struct ExportSampleFiles {
    static let directory = ProcessInfo.processInfo.environment["ATELIER_EXPORT_SAMPLES"]

    @Test(.enabled(if: directory != nil)) func writeSamples() throws {
        let directory = try #require(Self.directory)
        let corpus = ProcessInfo.processInfo.environment["ATELIER_EXPORT_SAMPLES_CORPUS"]
        var vocabularies: [(String, BytePairVocabulary)] = [("byte", .bytes), ("hand", try ExportFixtures.handMadeVocabulary())]
        if let corpus {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: corpus)))
            let size = ProcessInfo.processInfo.environment["ATELIER_EXPORT_SAMPLES_VOCAB"].flatMap { Int($0) } ?? 512
            let clock = ContinuousClock()
            let start = clock.now
            vocabularies.append(("bpe", try BytePairTrainer(vocabularySize: size).train(on: bytes)))
            print("BPE: \(bytes.count) bytes, vocabulary \(size): \(clock.now - start)")
        }
        for (label, vocabulary) in vocabularies {
            let h = LlamaHyperparameters(
                vocabularySize: vocabulary.count, width: 64, layers: 2, heads: 4, kvHeads: 2, contextLength: 64,
                tiedEmbeddings: label != "hand")
            let weights = ExportFixtures.randomWeights(h, seed: 99)
            for quantization in ExportQuantization.allCases {
                try GGUFExport.write(
                    hyperparameters: h, weights: weights, tokenizer: vocabulary, quantization: quantization,
                    to: "\(directory)/\(label)-\(quantization.rawValue).gguf")
            }
            try SafetensorsExport.write(hyperparameters: h, weights: weights, tokenizer: vocabulary, to: "\(directory)/\(label)-hf")
        }
    }
}
