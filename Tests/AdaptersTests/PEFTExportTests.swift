import Adapters
import Foundation
import HuggingFaceFormats
import Testing

/// PEFT's files: names, shapes, values (Llama's q/k B rows back in HF order), config.
@Suite struct PEFTExportTests {
    /// safetensors header and f32 tensors, parsed with Foundation's JSON.
    static func readSafetensors(_ path: String) throws -> [String: (shape: [Int], values: [Float])] {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let headerLength = Int(bytes[0..<8].withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<8 + headerLength])) as! [String: Any]
        var out: [String: (shape: [Int], values: [Float])] = [:]
        for (name, entry) in header where name != "__metadata__" {
            let entry = entry as! [String: Any]
            #expect(entry["dtype"] as? String == "F32")
            let offsets = entry["data_offsets"] as! [Int]
            let data = Array(bytes[(8 + headerLength + offsets[0])..<(8 + headerLength + offsets[1])])
            let values = stride(from: 0, to: data.count, by: 4).map { i in
                Float(bitPattern: UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16 | UInt32(data[i + 3]) << 24)
            }
            out[name] = (entry["shape"] as! [Int], values)
        }
        return out
    }

    static func adapter(architecture: String, alpha: Float) throws -> LoRAAdapter {
        LoRAAdapter(
            architecture: architecture, alpha: alpha,
            pairs: [
                // 2 heads of 4 rows for Q, 1 KV head of 4 rows for K.
                "blk.0.attn_q.weight": try AdapterFixtures.pair(rank: 2, inputs: 8, outputs: 8, seed: 1),
                "blk.0.attn_k.weight": try AdapterFixtures.pair(rank: 2, inputs: 8, outputs: 4, seed: 2),
                "blk.0.attn_v.weight": try AdapterFixtures.pair(rank: 2, inputs: 8, outputs: 4, seed: 3),
                "blk.1.ffn_down.weight": try AdapterFixtures.pair(rank: 2, inputs: 16, outputs: 8, seed: 4),
            ])
    }

    @Test func llamaExportUnpermutesQueryAndKeyB() throws {
        let adapter = try Self.adapter(architecture: "llama", alpha: 16)
        let directory = AdapterFixtures.temporaryPath("peft-llama")
        try PEFTExport.write(adapter, heads: 2, kvHeads: 1, baseModelName: "HuggingFaceTB/SmolLM2-135M-Instruct", to: directory)
        let tensors = try Self.readSafetensors(directory + "/adapter_model.safetensors")
        let prefix = "base_model.model.model.layers."
        #expect(tensors.count == 8)
        let q = adapter.pairs["blk.0.attn_q.weight"]!
        #expect(tensors[prefix + "0.self_attn.q_proj.lora_A.weight"]?.shape == [2, 8])
        #expect(tensors[prefix + "0.self_attn.q_proj.lora_A.weight"]?.values == q.a)
        #expect(tensors[prefix + "0.self_attn.q_proj.lora_B.weight"]?.shape == [8, 2])
        // Head 0 rows in GGUF (adjacent pairs) 0,1,2,3 → HF (rotate half) rows 0,2,1,3; head 1 likewise.
        let hfRows = [0, 2, 1, 3, 4, 6, 5, 7]
        let expectedB = (0..<8).flatMap { row in (0..<2).map { q.b[hfRows[row] * 2 + $0] } }
        #expect(tensors[prefix + "0.self_attn.q_proj.lora_B.weight"]?.values == expectedB)
        let k = adapter.pairs["blk.0.attn_k.weight"]!
        #expect(
            tensors[prefix + "0.self_attn.k_proj.lora_B.weight"]?.values
                == RotaryRowOrder.rotateHalf(fromAdjacentPairs: k.b, heads: 1, columns: 2))
        #expect(tensors[prefix + "0.self_attn.v_proj.lora_B.weight"]?.values == adapter.pairs["blk.0.attn_v.weight"]!.b)
        #expect(tensors[prefix + "1.mlp.down_proj.lora_A.weight"]?.shape == [2, 16])
        #expect(tensors[prefix + "1.mlp.down_proj.lora_B.weight"]?.shape == [8, 2])

        let config =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/adapter_config.json")))
            as! [String: Any]
        #expect(config["peft_type"] as? String == "LORA")
        #expect(config["task_type"] as? String == "CAUSAL_LM")
        #expect(config["r"] as? Int == 2)
        #expect(config["lora_alpha"] as? Double == 16)
        #expect(config["target_modules"] as? [String] == ["q_proj", "k_proj", "v_proj", "down_proj"])
        #expect(config["bias"] as? String == "none")
        #expect(config["lora_dropout"] as? Double == 0)
        #expect(config["fan_in_fan_out"] as? Bool == false)
        #expect(config["base_model_name_or_path"] as? String == "HuggingFaceTB/SmolLM2-135M-Instruct")
    }

    @Test func gemmaExportKeepsRowOrderAndAlphaZeroBecomesRank() throws {
        let adapter = try Self.adapter(architecture: "gemma3", alpha: 0)
        let directory = AdapterFixtures.temporaryPath("peft-gemma")
        try PEFTExport.write(adapter, heads: 2, kvHeads: 1, baseModelName: "google/gemma-3-270m", to: directory)
        let tensors = try Self.readSafetensors(directory + "/adapter_model.safetensors")
        #expect(
            tensors["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"]?.values == adapter.pairs["blk.0.attn_q.weight"]!.b)
        let config =
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/adapter_config.json")))
            as! [String: Any]
        // llama.cpp reads alpha 0 as scale 1 = alpha/r with alpha = r.
        #expect(config["lora_alpha"] as? Double == 2)
    }
}
