import GGUF

/// Builds the tokenizer a GGUF file's metadata describes.
public enum TokenizerLoader {
    public static func load(from metadata: GGUFMetadata) throws -> any Tokenizer {
        let reader = MetadataReader(metadata: metadata)
        let model = try reader.requiredString(MetadataKey.model)
        switch model {
        case "gpt2":
            return try loadByteLevelBPE(reader)
        case "llama":
            return try loadSentencePiece(reader)
        default:
            throw TokenizerError(
                .unsupported, key: MetadataKey.model,
                "unknown tokenizer model \"\(model)\" (supported: \"gpt2\", \"llama\")")
        }
    }

    private static func loadByteLevelBPE(_ reader: MetadataReader) throws -> ByteLevelBPETokenizer {
        let preName = try reader.optionalString(MetadataKey.pre)
        guard let pre = PreTokenizer(name: preName) else {
            throw TokenizerError(
                .unsupported, key: MetadataKey.pre,
                "unknown pre-tokenizer \"\(preName ?? "")\"")
        }
        let vocabulary = try reader.vocabulary()
        let merges = try reader.requiredStrings(MetadataKey.merges)
        let addsBOS = try reader.optionalBool(MetadataKey.addBOS) ?? pre.addsBOSByDefault
        let addsEOS = try reader.optionalBool(MetadataKey.addEOS) ?? false
        if addsBOS && vocabulary.bos == nil {
            throw TokenizerError(.missingKey, key: MetadataKey.bos, "missing, but \(MetadataKey.addBOS) is true")
        }
        if addsEOS && vocabulary.eos == nil {
            throw TokenizerError(.missingKey, key: MetadataKey.eos, "missing, but \(MetadataKey.addEOS) is true")
        }
        return try ByteLevelBPETokenizer(
            vocabulary: vocabulary, mergeList: merges, preTokenizer: pre,
            addsBOS: addsBOS, addsEOS: addsEOS)
    }
}

/// Typed access to tokenizer keys with errors that name the key.
struct MetadataReader {
    let metadata: GGUFMetadata

    private func typeName(_ value: GGUFValue) -> String {
        if case .array(let a) = value { return "ARRAY of \(a.elementType)" }
        return value.type.description
    }

    func requiredString(_ key: String) throws -> String {
        guard let s = try optionalString(key) else { throw TokenizerError.missing(key) }
        return s
    }

    func optionalString(_ key: String) throws -> String? {
        guard let value = metadata[key] else { return nil }
        guard let s = value.stringValue else {
            throw TokenizerError.wrongType(key, expected: "STRING", got: typeName(value))
        }
        return s
    }

    func requiredStrings(_ key: String) throws -> [String] {
        guard let value = metadata[key] else { throw TokenizerError.missing(key) }
        guard let strings = value.arrayValue?.strings else {
            throw TokenizerError.wrongType(key, expected: "ARRAY of STRING", got: typeName(value))
        }
        return strings
    }

    func optionalIntegers(_ key: String) throws -> [Int64]? {
        guard let value = metadata[key] else { return nil }
        guard let integers = value.arrayValue?.integers else {
            throw TokenizerError.wrongType(key, expected: "ARRAY of integers", got: typeName(value))
        }
        return integers
    }

    func optionalBool(_ key: String) throws -> Bool? {
        guard let value = metadata[key] else { return nil }
        guard let b = value.boolValue else {
            throw TokenizerError.wrongType(key, expected: "BOOL", got: typeName(value))
        }
        return b
    }

    /// A token id key: must be an integer naming a token.
    func optionalTokenID(_ key: String, vocabularySize: Int) throws -> Int32? {
        guard let value = metadata[key] else { return nil }
        guard let id = value.integerValue else {
            throw TokenizerError.wrongType(key, expected: "an integer", got: typeName(value))
        }
        guard id >= 0 && id < vocabularySize else {
            throw TokenizerError(
                .invalidValue, key: key,
                "\(id) is outside the vocabulary (0..<\(vocabularySize))")
        }
        return Int32(id)
    }

    /// The defaults stand in for absent id keys (llama.cpp's per-model-kind defaults), when in range.
    func vocabulary(
        defaultBOS: Int32? = nil, defaultEOS: Int32? = nil,
        defaultUnknown: Int32? = nil
    ) throws -> Vocabulary {
        let texts = try requiredStrings(MetadataKey.tokens)
        guard !texts.isEmpty else {
            throw TokenizerError(.invalidValue, key: MetadataKey.tokens, "is empty")
        }
        guard texts.count <= Int(Int32.max) else {
            throw TokenizerError(.invalidValue, key: MetadataKey.tokens, "has too many entries")
        }
        let types = try optionalIntegers(MetadataKey.tokenType)
        let n = texts.count
        let eot = try optionalTokenID(MetadataKey.eot, vocabularySize: n)
        let eom = try optionalTokenID(MetadataKey.eom, vocabularySize: n)
        return try Vocabulary(
            texts: texts, types: types,
            bos: try optionalTokenID(MetadataKey.bos, vocabularySize: n) ?? defaultBOS.flatMap { $0 < n ? $0 : nil },
            eos: try optionalTokenID(MetadataKey.eos, vocabularySize: n) ?? defaultEOS.flatMap { $0 < n ? $0 : nil },
            unknown: try optionalTokenID(MetadataKey.unknown, vocabularySize: n)
                ?? defaultUnknown.flatMap { $0 < n ? $0 : nil },
            padding: try optionalTokenID(MetadataKey.padding, vocabularySize: n),
            extraEndOfGeneration: [eot, eom].compactMap { $0 })
    }
}
