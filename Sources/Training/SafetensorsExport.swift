import HuggingFaceFormats
import Tokenizers

/// Writes a trained model as a Hugging Face Llama checkpoint directory: `model.safetensors` (f32,
/// HF parameter names, Q and K rows in HF's rotate-half order), `config.json`
/// (`LlamaForCausalLM`), and the tokenizer as `tokenizer.json` and `tokenizer_config.json`.
public enum SafetensorsExport {
    public static func write(
        hyperparameters h: LlamaHyperparameters, weights: NamedWeights, tokenizer: BytePairVocabulary, to directory: String
    ) throws {
        let parameters = try weights.ordered(for: h)
        try tokenizer.check(against: h)
        try ExportFile.makeDirectory(directory)
        let tensors = parameters.map { name, entry in
            Safetensors.Tensor(name: HuggingFaceNames.llamaParameter(name), shape: entry.shape, values: huggingFaceValues(name, entry, h))
        }
        try ExportFile.write(Safetensors.serialize(tensors), to: directory + "/model.safetensors")
        try ExportFile.write(config(h), to: directory + "/config.json")
        try ExportFile.write(tokenizerJSON(tokenizer), to: directory + "/tokenizer.json")
        try ExportFile.write(tokenizerConfig(h), to: directory + "/tokenizer_config.json")
    }

    private static func huggingFaceValues(_ name: String, _ entry: NamedWeights.Entry, _ h: LlamaHyperparameters) -> [Float] {
        if name.hasSuffix(".attn_q.weight") {
            return RotaryRowOrder.rotateHalf(fromAdjacentPairs: entry.values, heads: h.heads, columns: h.width)
        }
        if name.hasSuffix(".attn_k.weight") {
            return RotaryRowOrder.rotateHalf(fromAdjacentPairs: entry.values, heads: h.kvHeads, columns: h.width)
        }
        return entry.values
    }

    static func config(_ h: LlamaHyperparameters) -> String {
        let fields: [(String, String)] = [
            ("architectures", #"["LlamaForCausalLM"]"#),
            ("model_type", #""llama""#),
            ("vocab_size", "\(h.vocabularySize)"),
            ("hidden_size", "\(h.width)"),
            ("intermediate_size", "\(h.ffnWidth)"),
            ("num_hidden_layers", "\(h.layers)"),
            ("num_attention_heads", "\(h.heads)"),
            ("num_key_value_heads", "\(h.kvHeads)"),
            ("head_dim", "\(h.headWidth)"),
            ("max_position_embeddings", "\(h.contextLength)"),
            ("rms_norm_eps", "\(h.normEpsilon)"),
            ("rope_theta", "\(h.ropeTheta)"),
            ("rope_scaling", "null"),
            ("hidden_act", #""silu""#),
            ("attention_bias", "false"),
            ("attention_dropout", "0.0"),
            ("mlp_bias", "false"),
            ("tie_word_embeddings", "\(h.tiedEmbeddings)"),
            ("bos_token_id", "\(BytePairVocabulary.boundaryTokenID)"),
            ("eos_token_id", "\(BytePairVocabulary.boundaryTokenID)"),
            ("initializer_range", "0.02"),
            ("use_cache", "true"),
            ("torch_dtype", #""float32""#),
        ]
        return "{\n" + fields.map { "  \"\($0.0)\": \($0.1)" }.joined(separator: ",\n") + "\n}\n"
    }

    /// HF tokenizers' byte-level BPE: the ByteLevel pre-tokenizer splits with GPT-2's pattern (the
    /// one `tokenizer.ggml.pre` = gpt-2 names) and spells bytes in the same alphabet as the GGUF.
    /// BOS/EOS are not declared as special tokens here: HF would then match their text ("ÿ")
    /// inside ordinary input.
    static func tokenizerJSON(_ vocabulary: BytePairVocabulary) -> String {
        let byteLevel = #"{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":true,"use_regex":true}"#
        let texts = vocabulary.tokenTexts
        let vocab = texts.enumerated().map { "\(JSONLiteral.string($0.element)):\($0.offset)" }.joined(separator: ",")
        let merges = vocabulary.mergeTexts.map(JSONLiteral.string).joined(separator: ",")
        return #"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],"normalizer":null,"#
            + #""pre_tokenizer":\#(byteLevel),"post_processor":\#(byteLevel),"decoder":\#(byteLevel),"#
            + #""model":{"type":"BPE","dropout":null,"unk_token":null,"continuing_subword_prefix":null,"end_of_word_suffix":null,"#
            + #""fuse_unk":false,"byte_fallback":false,"ignore_merges":false,"vocab":{\#(vocab)},"merges":[\#(merges)]}}"#
    }

    static func tokenizerConfig(_ h: LlamaHyperparameters) -> String {
        #"{"tokenizer_class":"PreTrainedTokenizerFast","model_max_length":\#(h.contextLength),"#
            + #""add_bos_token":false,"add_eos_token":false,"clean_up_tokenization_spaces":false}"# + "\n"
    }
}
