import GGUF
import HuggingFaceFormats

/// Writes an adapter for Hugging Face PEFT: `adapter_model.safetensors` (f32, PEFT's names) and
/// `adapter_config.json`, so `PeftModel.from_pretrained(base, directory)` loads it.
///
/// Names: `base_model.model.model.layers.{i}.self_attn.q_proj.lora_A.weight` [r, inputs] and
/// `….lora_B.weight` [outputs, r]. llama.cpp's converter permutes Llama's Q and K rows for its
/// adjacent-pair RoPE, and a LoRA's B with them (A's columns are the untouched input), so for Llama
/// the B of q_proj and k_proj goes back to HF's rotate-half order; Gemma 3 uses NEOX RoPE, stored
/// in HF's order already. PEFT scales by lora_alpha / r as llama.cpp does, except that llama.cpp
/// reads alpha 0 as "scale 1": that becomes lora_alpha = r.
public enum PEFTExport {
    /// Architectures whose GGUF Q/K rows are permuted relative to HF, and those that are not.
    static let permutedArchitectures: Set<String> = ["llama", "mistral"]
    static let unpermutedArchitectures: Set<String> = ["gemma3"]

    /// `heads`/`kvHeads`: the base model's attention heads (needed to un-permute Llama's Q and K).
    public static func write(
        _ adapter: LoRAAdapter, heads: Int, kvHeads: Int, baseModelName: String, to directory: String
    ) throws {
        let permuted = permutedArchitectures.contains(adapter.architecture)
        guard permuted || unpermutedArchitectures.contains(adapter.architecture) else {
            throw AdapterError("PEFT export: architecture \(adapter.architecture) is not supported (llama, mistral, gemma3)")
        }
        var tensors: [Safetensors.Tensor] = []
        var modules: Set<String> = []
        var ranks: [String: Int] = [:]
        for name in adapter.orderedNames {
            let pair = adapter.pairs[name]!
            guard let target = AdapterTargets.parse(name), let (module, _) = HuggingFaceNames.blockModule(name) else {
                throw AdapterError("PEFT export: \(name) has no PEFT module name (only the seven block projections do)")
            }
            var b = pair.b
            if permuted && (target.role == "attn_q" || target.role == "attn_k") {
                let headCount = target.role == "attn_q" ? heads : kvHeads
                guard headCount > 0, pair.outputs % headCount == 0, (pair.outputs / headCount) % 2 == 0 else {
                    throw AdapterError(
                        "PEFT export: \(name) has \(pair.outputs) rows, which do not split into \(headCount) heads of even size")
                }
                b = RotaryRowOrder.rotateHalf(fromAdjacentPairs: b, heads: headCount, columns: pair.rank)
            }
            let prefix = "base_model.model." + module
            tensors.append(Safetensors.Tensor(name: prefix + ".lora_A.weight", shape: [pair.rank, pair.inputs], values: pair.a))
            tensors.append(Safetensors.Tensor(name: prefix + ".lora_B.weight", shape: [pair.outputs, pair.rank], values: b))
            modules.insert(String(module.split(separator: ".").last!))
            ranks[module] = pair.rank
        }
        if let reason = ExportDirectory.make(directory) { throw AdapterError("PEFT export: \(reason)") }
        try atomicWrite(Safetensors.serialize(tensors), to: directory + "/adapter_model.safetensors")
        try atomicWrite(
            Array(config(adapter, modules: modules, ranks: ranks, baseModelName: baseModelName).utf8),
            to: directory + "/adapter_config.json")
    }

    /// `heads`/`kvHeads` from the base model's metadata.
    public static func write(_ adapter: LoRAAdapter, base: GGUFFile, baseModelName: String, to directory: String) throws {
        try adapter.validate(against: base)
        let arch = adapter.architecture
        guard let heads = base.metadata.integer("\(arch).attention.head_count"), heads > 0, heads <= 1 << 16 else {
            throw AdapterError("\(base.source): \(arch).attention.head_count is missing or out of range")
        }
        let kvHeads = base.metadata.integer("\(arch).attention.head_count_kv") ?? heads
        try write(adapter, heads: Int(heads), kvHeads: Int(kvHeads), baseModelName: baseModelName, to: directory)
    }

    static func config(_ adapter: LoRAAdapter, modules: Set<String>, ranks: [String: Int], baseModelName: String) -> String {
        let order = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        let targets = order.filter(modules.contains)
        // The most common rank is `r`; others go to rank_pattern (full module names).
        let counts = Dictionary(grouping: ranks.values, by: { $0 }).mapValues(\.count)
        let r = counts.max { ($0.value, -$0.key) < ($1.value, -$1.key) }?.key ?? 1
        let rankPattern = ranks.filter { $0.value != r }.sorted { $0.key < $1.key }
        func alpha(_ rank: Int) -> Float { adapter.alpha != 0 ? adapter.alpha : Float(rank) }
        let alphaPattern = adapter.alpha != 0 ? [] : rankPattern.map { ($0.key, alpha($0.value)) }
        func object<V>(_ entries: [(String, V)]) -> String {
            "{" + entries.map { JSONLiteral.string($0.0) + ": \($0.1)" }.joined(separator: ", ") + "}"
        }
        let fields: [(String, String)] = [
            ("peft_type", #""LORA""#),
            ("task_type", #""CAUSAL_LM""#),
            ("base_model_name_or_path", JSONLiteral.string(baseModelName)),
            ("r", "\(r)"),
            ("lora_alpha", "\(alpha(r))"),
            ("target_modules", "[" + targets.map(JSONLiteral.string).joined(separator: ", ") + "]"),
            ("rank_pattern", object(rankPattern.map { ($0.key, $0.value) })),
            ("alpha_pattern", object(alphaPattern)),
            ("lora_dropout", "0.0"),
            ("bias", #""none""#),
            ("fan_in_fan_out", "false"),
            ("use_rslora", "false"),
            ("use_dora", "false"),
            ("init_lora_weights", "true"),
            ("inference_mode", "true"),
            ("modules_to_save", "null"),
            ("layers_to_transform", "null"),
            ("revision", "null"),
        ]
        return "{\n" + fields.map { "  \"\($0.0)\": \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }

    private static func atomicWrite(_ bytes: [UInt8], to path: String) throws {
        do throws(AtomicFile.Failure) {
            try AtomicFile.write(bytes, to: path)
        } catch {
            switch error {
            case .create(let temporary, let reason): throw AdapterError("cannot create \(temporary): \(reason)")
            case .write(let reason): throw AdapterError("cannot write \(path): \(reason)")
            case .rename(let temporary, let reason): throw AdapterError("cannot rename \(temporary) to \(path): \(reason)")
            }
        }
    }
}
