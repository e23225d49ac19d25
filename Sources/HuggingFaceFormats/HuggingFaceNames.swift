/// GGUF tensor names and their counterparts in Hugging Face's Llama-family checkpoints
/// (`LlamaForCausalLM`, `Gemma3ForCausalLM`: the same module names).
public enum HuggingFaceNames {
    /// A block tensor's role in GGUF → its module inside HF's `model.layers.{i}`.
    public static let blockModules: [String: String] = [
        "attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
        "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
        "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
    ]

    /// `blk.{i}.{role}.weight` → (`model.layers.{i}.{module}`, i), nil for other names.
    public static func blockModule(_ ggufName: String) -> (module: String, block: Int)? {
        let parts = ggufName.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "blk", parts[3] == "weight", let block = Int(parts[1]), block >= 0,
            String(block) == parts[1], let module = blockModules[String(parts[2])]
        else { return nil }
        return ("model.layers.\(block).\(module)", block)
    }

    /// The GGUF name's parameter in HF's `LlamaForCausalLM`; unknown names are returned unchanged.
    public static func llamaParameter(_ ggufName: String) -> String {
        let fixed = [
            "token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
            "output.weight": "lm_head.weight",
        ]
        if let mapped = fixed[ggufName] { return mapped }
        return blockModule(ggufName).map { $0.module + ".weight" } ?? ggufName
    }
}
