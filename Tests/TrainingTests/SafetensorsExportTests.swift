import Foundation
import HuggingFaceFormats
import Testing
import Tokenizers

@testable import Training

@Suite struct SafetensorsExportTests {
    /// The un-permutation written out for a known matrix: one column, two heads of width 4,
    /// adjacent-pair rows (x0, y0, x1, y1) become rotate-half rows (x0, x1, y0, y1).
    @Test func rotateHalfOrderOfAKnownMatrix() {
        let adjacent: [Float] = [0, 1, 2, 3, 10, 11, 12, 13]
        #expect(RotaryRowOrder.rotateHalf(fromAdjacentPairs: adjacent, heads: 2, columns: 1) == [0, 2, 1, 3, 10, 12, 11, 13])
        #expect(RotaryRowOrder.adjacentPairs(fromRotateHalf: [0, 2, 1, 3, 10, 12, 11, 13], heads: 2, columns: 1) == adjacent)
        // Two columns move with their row.
        let twoColumns: [Float] = [0, 100, 1, 101, 2, 102, 3, 103]
        #expect(RotaryRowOrder.rotateHalf(fromAdjacentPairs: twoColumns, heads: 1, columns: 2) == [0, 100, 2, 102, 1, 101, 3, 103])
    }

    /// llama.cpp's converter: reshape(heads, 2, d/2, columns).swapaxes(1, 2); ours is its inverse.
    @Test func unpermutationInvertsTheConvertersPermutation() {
        var random = ExportTestRandom(seed: 9)
        let heads = 3, d = 8, columns = 5
        let hf = (0..<(heads * d * columns)).map { _ in random.uniform(-1, 1) }
        var converted = [Float](repeating: 0, count: hf.count)
        for h in 0..<heads {
            for half in 0..<2 {
                for i in 0..<(d / 2) {
                    for c in 0..<columns {
                        converted[((h * d) + i * 2 + half) * columns + c] = hf[((h * d) + half * (d / 2) + i) * columns + c]
                    }
                }
            }
        }
        #expect(RotaryRowOrder.adjacentPairs(fromRotateHalf: hf, heads: heads, columns: columns) == converted)
        #expect(RotaryRowOrder.rotateHalf(fromAdjacentPairs: converted, heads: heads, columns: columns) == hf)
        #expect(converted != hf)
    }

    /// What the order means: attention scores of adjacent-pair RoPE on the training weights equal
    /// those of HF's rotate-half RoPE on the un-permuted weights.
    @Test func rotateHalfWeightsGiveTheSameAttentionScores() {
        var random = ExportTestRandom(seed: 4)
        let d = 8, columns = 6, theta = 10_000.0
        let wq = (0..<(d * columns)).map { _ in random.uniform(-1, 1) }
        let wk = (0..<(d * columns)).map { _ in random.uniform(-1, 1) }
        let x = (0..<columns).map { _ in Double(random.uniform(-1, 1)) }, y = (0..<columns).map { _ in Double(random.uniform(-1, 1)) }
        func project(_ w: [Float], _ v: [Double]) -> [Double] {
            (0..<d).map { r in (0..<columns).reduce(0) { $0 + Double(w[r * columns + $1]) * v[$1] } }
        }
        func angle(_ i: Int, _ position: Int) -> Double { Double(position) * pow(theta, -2 * Double(i) / Double(d)) }
        func ropeAdjacent(_ v: [Double], _ p: Int) -> [Double] {
            var out = v
            for i in 0..<(d / 2) {
                let (c, s) = (cos(angle(i, p)), sin(angle(i, p)))
                out[2 * i] = v[2 * i] * c - v[2 * i + 1] * s
                out[2 * i + 1] = v[2 * i] * s + v[2 * i + 1] * c
            }
            return out
        }
        func ropeHalf(_ v: [Double], _ p: Int) -> [Double] {
            var out = v
            for i in 0..<(d / 2) {
                let (c, s) = (cos(angle(i, p)), sin(angle(i, p)))
                out[i] = v[i] * c - v[i + d / 2] * s
                out[i + d / 2] = v[i + d / 2] * c + v[i] * s
            }
            return out
        }
        func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
        let hfQ = RotaryRowOrder.rotateHalf(fromAdjacentPairs: wq, heads: 1, columns: columns)
        let hfK = RotaryRowOrder.rotateHalf(fromAdjacentPairs: wk, heads: 1, columns: columns)
        for (p, u) in [(5, 2), (7, 7), (30, 1)] {
            let trained = dot(ropeAdjacent(project(wq, x), p), ropeAdjacent(project(wk, y), u))
            let huggingFace = dot(ropeHalf(project(hfQ, x), p), ropeHalf(project(hfK, y), u))
            #expect(abs(trained - huggingFace) < 1e-9 * max(1, abs(trained)))
            // Without the un-permutation the scores differ (except at equal positions, where the rotations cancel).
            guard p != u else { continue }
            let unconverted = dot(ropeHalf(project(wq, x), p), ropeHalf(project(wk, y), u))
            #expect(abs(trained - unconverted) > 1e-6)
        }
    }

    @Test func checkpointDirectoryHasHuggingFaceNamesShapesAndValues() throws {
        var h = GGUFExportTests.shape
        h.tiedEmbeddings = false
        let weights = ExportFixtures.randomWeights(h, seed: 8)
        let directory = try ExportFixtures.temporaryDirectory("safetensors")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try SafetensorsExport.write(hyperparameters: h, weights: weights, tokenizer: .bytes, to: directory + "/hf")

        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/hf/model.safetensors")))
        let headerLength = bytes[0..<8].enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
        #expect((8 + headerLength) % 8 == 0)
        let header = try #require(JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + headerLength)])) as? [String: Any])
        let data = Array(bytes[(8 + headerLength)...])
        func tensor(_ name: String) throws -> (shape: [Int], values: [Float]) {
            let entry = try #require(header[name] as? [String: Any], "\(name)")
            #expect(entry["dtype"] as? String == "F32")
            let offsets = try #require(entry["data_offsets"] as? [Int])
            let values = stride(from: offsets[0], to: offsets[1], by: 4).map { start in
                Float(bitPattern: data[start..<(start + 4)].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) })
            }
            return (try #require(entry["shape"] as? [Int]), values)
        }
        #expect(header.count == h.parameterShapes.count + 1)
        let expected: [(String, String, [Int])] = [
            ("model.embed_tokens.weight", "token_embd.weight", [256, 64]),
            ("lm_head.weight", "output.weight", [256, 64]),
            ("model.norm.weight", "output_norm.weight", [64]),
            ("model.layers.1.input_layernorm.weight", "blk.1.attn_norm.weight", [64]),
            ("model.layers.1.post_attention_layernorm.weight", "blk.1.ffn_norm.weight", [64]),
            ("model.layers.0.self_attn.v_proj.weight", "blk.0.attn_v.weight", [32, 64]),
            ("model.layers.0.self_attn.o_proj.weight", "blk.0.attn_output.weight", [64, 64]),
            ("model.layers.1.mlp.gate_proj.weight", "blk.1.ffn_gate.weight", [176, 64]),
            ("model.layers.1.mlp.up_proj.weight", "blk.1.ffn_up.weight", [176, 64]),
            ("model.layers.1.mlp.down_proj.weight", "blk.1.ffn_down.weight", [64, 176]),
        ]
        for (hfName, ggufName, shape) in expected {
            let stored = try tensor(hfName)
            #expect(stored.shape == shape, "\(hfName)")
            #expect(stored.values == weights[ggufName]!.values, "\(hfName)")
        }
        let q = try tensor("model.layers.1.self_attn.q_proj.weight"), k = try tensor("model.layers.1.self_attn.k_proj.weight")
        #expect(q.shape == [64, 64] && k.shape == [32, 64])
        #expect(q.values == RotaryRowOrder.rotateHalf(fromAdjacentPairs: weights["blk.1.attn_q.weight"]!.values, heads: 4, columns: 64))
        #expect(k.values == RotaryRowOrder.rotateHalf(fromAdjacentPairs: weights["blk.1.attn_k.weight"]!.values, heads: 2, columns: 64))

        let config = try #require(
            JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/hf/config.json"))) as? [String: Any])
        #expect(config["architectures"] as? [String] == ["LlamaForCausalLM"])
        #expect(config["tie_word_embeddings"] as? Bool == false)
        #expect(config["num_key_value_heads"] as? Int == 2 && config["intermediate_size"] as? Int == 176)
        #expect(config["head_dim"] as? Int == 16 && config["max_position_embeddings"] as? Int == 16)
        #expect((config["rms_norm_eps"] as? Double).map { abs($0 - 1e-5) < 1e-12 } == true)
        #expect(config["rope_theta"] as? Double == 10_000)
    }

    @Test func tokenizerJSONHoldsTheVocabularyAndMerges() throws {
        let vocabulary = try ExportFixtures.handMadeVocabulary()
        let json = SafetensorsExport.tokenizerJSON(vocabulary)
        let root = try #require(JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let model = try #require(root["model"] as? [String: Any])
        #expect(model["type"] as? String == "BPE")
        let vocab = try #require(model["vocab"] as? [String: Int])
        #expect(vocab.count == 262)
        #expect(vocab["\""] == 0x22 && vocab["\\"] == 0x5C && vocab["Ġ"] == 0x20 && vocab["Ċ"] == 0x0A && vocab["Ġthe"] == 260)
        #expect(model["merges"] as? [String] == ["t h", "th e", "Ġ t", "Ġt h", "Ġth e", "i n"])
        let pre = try #require(root["pre_tokenizer"] as? [String: Any])
        #expect(pre["type"] as? String == "ByteLevel" && pre["add_prefix_space"] as? Bool == false)
    }
}
