import GGUF
import Quantization
import Tokenizers

/// How the GGUF export stores the weight matrices.
public enum ExportQuantization: String, Sendable, CaseIterable, Codable {
    case f32
    case q8_0
    case q4_1

    /// The type of a matrix that is not the output projection.
    var matrixType: GGMLType {
        switch self {
        case .f32: .f32
        case .q8_0: .q8_0
        case .q4_1: .q4_1
        }
    }

    /// The output projection (`output.weight`, or `token_embd.weight` when tied) keeps 8 bits under
    /// q4_1: it decides every logit, and llama.cpp's own quantizer never gives it 4 bits either
    /// (Q6_K, or Q8_0 when its rows are not a multiple of 256 values).
    var outputProjectionType: GGMLType {
        switch self {
        case .f32: .f32
        case .q8_0, .q4_1: .q8_0
        }
    }

    /// `general.file_type` (llama.cpp's llama_ftype: ALL_F32, MOSTLY_Q8_0, MOSTLY_Q4_1).
    var fileType: UInt32 {
        switch self {
        case .f32: 0
        case .q8_0: 7
        case .q4_1: 3
        }
    }
}

/// Writes a trained Llama-architecture model as a GGUF file that llama.cpp and `ModelLoader` load:
/// `general.architecture` = llama, the `llama.*` hyperparameter keys, a GPT-2-style byte-level
/// tokenizer (`BytePairVocabulary`) and the tensors under their GGUF names.
///
/// Tensors are written as trained: RoPE rotates adjacent pairs in training, which is the GGUF Q/K
/// row order, so nothing is permuted. ggml lists dimensions innermost first, so a row-major
/// [out, in] matrix has ggml dimensions [in, out]. Norm weights always stay F32. Quantized files
/// quantize every matrix whose rows are a multiple of 32 values (the block size of Q8_0 and Q4_1)
/// and keep the others F32; the token embedding is quantized like the other matrices (llama.cpp
/// and `ModelLoader` both read quantized embedding rows), except that as the tied output
/// projection it stays Q8_0 under q4_1 (`ExportQuantization.outputProjectionType`).
public enum GGUFExport {
    public static func write(
        hyperparameters h: LlamaHyperparameters, weights: NamedWeights, tokenizer: BytePairVocabulary,
        quantization: ExportQuantization, name: String = "atelier-gpt", to path: String
    ) throws {
        let writer = try makeWriter(hyperparameters: h, weights: weights, tokenizer: tokenizer, quantization: quantization, name: name)
        do { try writer.write(to: path) } catch { throw ExportError("cannot write \(path): \(error)") }
    }

    /// The whole file, ready to serialize (`write` writes it atomically).
    public static func makeWriter(
        hyperparameters h: LlamaHyperparameters, weights: NamedWeights, tokenizer: BytePairVocabulary,
        quantization: ExportQuantization, name: String = "atelier-gpt"
    ) throws -> GGUFWriter {
        let parameters = try weights.ordered(for: h)
        try tokenizer.check(against: h)
        var writer = GGUFWriter(metadata: metadata(hyperparameters: h, tokenizer: tokenizer, quantization: quantization, name: name))
        let outputProjection = h.tiedEmbeddings ? "token_embd.weight" : "output.weight"
        for (tensorName, entry) in parameters {
            var type = tensorName == outputProjection ? quantization.outputProjectionType : quantization.matrixType
            if entry.shape.count < 2 || entry.shape.last! % type.blockSize != 0 { type = .f32 }
            let data = encode(entry.values, as: type)
            try writer.addTensor(name: tensorName, type: type, dimensions: entry.shape.reversed().map { Int64($0) }, data: data)
        }
        return writer
    }

    /// Every metadata key of the exported file, in file order.
    public static func metadata(
        hyperparameters h: LlamaHyperparameters, tokenizer: BytePairVocabulary, quantization: ExportQuantization,
        name: String = "atelier-gpt"
    ) -> GGUFMetadata {
        var m = GGUFMetadata()
        m["general.architecture"] = .string("llama")
        m["general.name"] = .string(name)
        m["general.file_type"] = .uint32(quantization.fileType)
        if quantization != .f32 { m["general.quantization_version"] = .uint32(2) }
        let llama: [(String, GGUFValue)] = [
            ("vocab_size", .uint32(UInt32(h.vocabularySize))),
            ("context_length", .uint32(UInt32(h.contextLength))),
            ("embedding_length", .uint32(UInt32(h.width))),
            ("block_count", .uint32(UInt32(h.layers))),
            ("feed_forward_length", .uint32(UInt32(h.ffnWidth))),
            ("attention.head_count", .uint32(UInt32(h.heads))),
            ("attention.head_count_kv", .uint32(UInt32(h.kvHeads))),
            ("rope.dimension_count", .uint32(UInt32(h.headWidth))),
            ("rope.freq_base", .float32(h.ropeTheta)),
            ("attention.layer_norm_rms_epsilon", .float32(h.normEpsilon)),
        ]
        for (key, value) in llama { m["llama." + key] = value }
        m["tokenizer.ggml.model"] = .string("gpt2")
        m["tokenizer.ggml.pre"] = .string(BytePairVocabulary.preTokenizerName)
        m["tokenizer.ggml.tokens"] = .array(.string(tokenizer.tokenTexts))
        m["tokenizer.ggml.token_type"] = .array(.int32(Array(repeating: TokenType.normal.rawValue, count: tokenizer.count)))
        m["tokenizer.ggml.merges"] = .array(.string(tokenizer.mergeTexts))
        m["tokenizer.ggml.bos_token_id"] = .uint32(UInt32(BytePairVocabulary.boundaryTokenID))
        m["tokenizer.ggml.eos_token_id"] = .uint32(UInt32(BytePairVocabulary.boundaryTokenID))
        // Training sees no BOS or EOS; a file that added them would score and continue text
        // the model never saw.
        m["tokenizer.ggml.add_bos_token"] = .bool(false)
        m["tokenizer.ggml.add_eos_token"] = .bool(false)
        return m
    }

    /// `values` in `type`'s little-endian encoding; quantized types need a multiple of 32 values
    /// per row, which `makeWriter` has checked.
    static func encode(_ values: [Float], as type: GGMLType) -> [UInt8] {
        let blocks = values.count / type.blockSize
        var bytes = [UInt8](repeating: 0, count: blocks * type.typeSize)
        values.withUnsafeBufferPointer { source in
            bytes.withUnsafeMutableBytes { destination in
                Quantization.quantize(type, from: source.baseAddress!, to: destination.baseAddress!, count: values.count)
            }
        }
        return bytes
    }
}
