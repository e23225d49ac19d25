import Foundation
import GGUF
import Testing
import Tokenizers

@testable import Training

@Suite struct GGUFExportTests {
    static let shape = LlamaHyperparameters(vocabularySize: 256, width: 64, layers: 2, heads: 4, kvHeads: 2, contextLength: 16)

    @Test func hyperparameterDefaultsFollowTheTrainingPage() throws {
        #expect(LlamaHyperparameters.defaultFFNWidth(width: 128) == 352)
        #expect(LlamaHyperparameters.defaultFFNWidth(width: 384) == 1024)
        #expect(LlamaHyperparameters.defaultFFNWidth(width: 64) == 176)
        let h = LlamaHyperparameters(vocabularySize: 256, width: 128, layers: 4, heads: 4, contextLength: 256)
        #expect(h.kvHeads == 4 && h.ffnWidth == 352 && h.headWidth == 32 && h.tiedEmbeddings)
        #expect(h.ropeTheta == 10_000 && h.normEpsilon == 1e-5)
        try h.validate()
        let decoded = try JSONDecoder().decode(LlamaHyperparameters.self, from: JSONEncoder().encode(h))
        #expect(decoded == h)
    }

    @Test(arguments: [
        (LlamaHyperparameters(vocabularySize: 256, width: 100, layers: 1, heads: 3, contextLength: 8), "not divisible by heads 3"),
        (LlamaHyperparameters(vocabularySize: 256, width: 96, layers: 1, heads: 4, kvHeads: 3, contextLength: 8), "kvHeads 3"),
        (LlamaHyperparameters(vocabularySize: 256, width: 36, layers: 1, heads: 4, contextLength: 8), "head width 9"),
        (LlamaHyperparameters(vocabularySize: 256, width: 64, layers: 0, heads: 4, contextLength: 8), "layers is 0"),
        (LlamaHyperparameters(vocabularySize: 0, width: 64, layers: 1, heads: 4, contextLength: 8), "vocabularySize is 0"),
        (
            LlamaHyperparameters(vocabularySize: 256, width: 64, layers: 1, heads: 4, contextLength: 1 << 40),
            "contextLength is 1099511627776"
        ),
    ])
    func validationNamesTheField(h: LlamaHyperparameters, fragment: String) {
        do {
            try h.validate()
            Issue.record("\(h) validated")
        } catch {
            #expect("\(error)".contains(fragment), "\(error)")
        }
    }

    /// Every key and value of the file, every tensor's name, ggml dimensions (innermost first),
    /// type and bytes, read back with the project's GGUF reader.
    @Test(arguments: [false, true])
    func f32FileReadsBackExactly(withMerges: Bool) throws {
        var h = Self.shape
        let vocabulary = withMerges ? try ExportFixtures.handMadeVocabulary() : BytePairVocabulary.bytes
        h.vocabularySize = vocabulary.count
        h.tiedEmbeddings = !withMerges
        let weights = ExportFixtures.randomWeights(h, seed: 7)
        let directory = try ExportFixtures.temporaryDirectory("gguf")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/model.gguf"
        try GGUFExport.write(hyperparameters: h, weights: weights, tokenizer: vocabulary, quantization: .f32, name: "tiny", to: path)

        let file = try GGUFFile(path: path)
        let m = file.metadata
        let texts = (0..<256).map { byte in String(Unicode.Scalar(gpt2Scalar(UInt8(byte)))!) }
        var expectedTokens = texts
        var expectedMerges: [String] = []
        if withMerges {
            expectedTokens += ["th", "the", "Ġt", "Ġth", "Ġthe", "in"]
            expectedMerges = ["t h", "th e", "Ġ t", "Ġt h", "Ġth e", "i n"]
        }
        let expected: [(String, GGUFValue)] = [
            ("general.architecture", .string("llama")),
            ("general.name", .string("tiny")),
            ("general.file_type", .uint32(0)),
            ("llama.vocab_size", .uint32(UInt32(h.vocabularySize))),
            ("llama.context_length", .uint32(16)),
            ("llama.embedding_length", .uint32(64)),
            ("llama.block_count", .uint32(2)),
            ("llama.feed_forward_length", .uint32(176)),
            ("llama.attention.head_count", .uint32(4)),
            ("llama.attention.head_count_kv", .uint32(2)),
            ("llama.rope.dimension_count", .uint32(16)),
            ("llama.rope.freq_base", .float32(10_000)),
            ("llama.attention.layer_norm_rms_epsilon", .float32(1e-5)),
            ("tokenizer.ggml.model", .string("gpt2")),
            ("tokenizer.ggml.pre", .string("gpt-2")),
            ("tokenizer.ggml.tokens", .array(.string(expectedTokens))),
            ("tokenizer.ggml.token_type", .array(.int32(Array(repeating: 1, count: expectedTokens.count)))),
            ("tokenizer.ggml.merges", .array(.string(expectedMerges))),
            ("tokenizer.ggml.bos_token_id", .uint32(255)),
            ("tokenizer.ggml.eos_token_id", .uint32(255)),
            ("tokenizer.ggml.add_bos_token", .bool(false)),
            ("tokenizer.ggml.add_eos_token", .bool(false)),
        ]
        #expect(m.keys == expected.map(\.0))
        for (key, value) in expected { #expect(m[key] == value, "\(key)") }

        var names = ["token_embd.weight"]
        for layer in 0..<2 {
            names += ["attn_norm", "attn_q", "attn_k", "attn_v", "attn_output", "ffn_norm", "ffn_gate", "ffn_up", "ffn_down"]
                .map { "blk.\(layer).\($0).weight" }
        }
        names.append("output_norm.weight")
        if withMerges { names.append("output.weight") }
        #expect(file.tensors.map(\.name) == names)
        let ggmlDimensions: [String: [Int64]] = [
            "token_embd": [64, Int64(h.vocabularySize)], "output": [64, Int64(h.vocabularySize)],
            "attn_norm": [64], "ffn_norm": [64], "output_norm": [64],
            "attn_q": [64, 64], "attn_k": [64, 32], "attn_v": [64, 32], "attn_output": [64, 64],
            "ffn_gate": [64, 176], "ffn_up": [64, 176], "ffn_down": [176, 64],
        ]
        for tensor in file.tensors {
            let role = tensor.name.split(separator: ".").dropLast().last.map(String.init)!
            #expect(tensor.dimensions == ggmlDimensions[role], "\(tensor.name)")
            #expect(tensor.type == .f32, "\(tensor.name)")
            let stored = file.data(for: tensor)
            let values = (0..<Int(tensor.elementCount)).map { stored.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
            #expect(values == weights[tensor.name]!.values, "\(tensor.name)")
        }
    }

    /// Norms stay F32; matrices take the file's type; the output projection keeps Q8_0 under
    /// q4_1; a matrix whose rows are not whole 32-value blocks stays F32 (ffn_down's rows of
    /// F = 176 values for D = 64).
    @Test func quantizedFilesTypeEachTensorAsDocumented() throws {
        let directory = try ExportFixtures.temporaryDirectory("quant")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var untied = Self.shape
        untied.tiedEmbeddings = false
        untied.ffnWidth = 64
        let cases: [(LlamaHyperparameters, ExportQuantization, [String: GGMLType], UInt32)] = [
            (
                Self.shape, .q8_0,
                ["token_embd": .q8_0, "attn_q": .q8_0, "ffn_up": .q8_0, "ffn_down": .f32, "attn_norm": .f32, "output_norm": .f32], 7
            ),
            (
                Self.shape, .q4_1,
                ["token_embd": .q8_0, "attn_q": .q4_1, "attn_output": .q4_1, "ffn_gate": .q4_1, "ffn_down": .f32, "ffn_norm": .f32], 3
            ),
            (untied, .q4_1, ["token_embd": .q4_1, "output": .q8_0, "ffn_gate": .q4_1, "ffn_down": .q4_1], 3),
        ]
        for (index, (h, quantization, types, fileType)) in cases.enumerated() {
            let path = directory + "/\(index).gguf"
            try GGUFExport.write(
                hyperparameters: h, weights: ExportFixtures.randomWeights(h, seed: 3), tokenizer: .bytes, quantization: quantization,
                to: path)
            let file = try GGUFFile(path: path)
            #expect(file.metadata["general.file_type"] == .uint32(fileType))
            #expect(file.metadata["general.quantization_version"] == .uint32(2))
            for tensor in file.tensors {
                let role = tensor.name.split(separator: ".").dropLast().last.map(String.init)!
                if let type = types[role] { #expect(tensor.type == type, "\(quantization) \(tensor.name)") }
            }
        }
    }

    @Test func refusesWeightsThatDoNotFitTheModel() throws {
        let h = Self.shape
        let good = ExportFixtures.randomWeights(h, seed: 1)
        func refusal(_ weights: NamedWeights, _ tokenizer: BytePairVocabulary = .bytes) -> String {
            do {
                _ = try GGUFExport.makeWriter(hyperparameters: h, weights: weights, tokenizer: tokenizer, quantization: .f32)
                return "accepted"
            } catch { return "\(error)" }
        }
        var missing = good
        missing["blk.1.attn_k.weight"] = nil
        #expect(refusal(missing).contains("blk.1.attn_k.weight is missing"))
        var transposed = good
        transposed.set("blk.0.ffn_down.weight", shape: [176, 64], values: good["blk.0.ffn_down.weight"]!.values)
        #expect(refusal(transposed).contains("blk.0.ffn_down.weight has shape [176, 64]; expected [64, 176]"))
        var extra = good
        extra.set("output.weight", shape: [256, 64], values: good["token_embd.weight"]!.values)
        #expect(refusal(extra).contains("output.weight is not a parameter"))
        var infinite = good
        var values = good["output_norm.weight"]!.values
        values[3] = .infinity
        infinite.set("output_norm.weight", shape: [64], values: values)
        #expect(refusal(infinite).contains("output_norm.weight holds inf at index 3"))
        #expect(refusal(good, try ExportFixtures.handMadeVocabulary()).contains("262 tokens but the model's vocabularySize is 256"))
    }

    /// GPT-2's byte alphabet, written out independently of the Tokenizers module.
    private func gpt2Scalar(_ byte: UInt8) -> UInt32 {
        let printable = (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte)
        if printable { return UInt32(byte) }
        let shifted = (0..<Int(byte)).filter { b in
            !((0x21...0x7E).contains(b) || (0xA1...0xAC).contains(b) || (0xAE...0xFF).contains(b))
        }.count
        return 256 + UInt32(shifted)
    }
}
