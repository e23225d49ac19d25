extension ModelSummary {
    /// The text `atelier inspect` prints.
    public func report() -> String {
        var lines: [(String, String)] = []
        // Values can come from the file (name, architecture, tokenizer names): escaped for the terminal.
        func add(_ label: String, _ value: String?) { if let value { lines.append((label, Format.printable(value))) } }
        func add(_ label: String, _ value: Int64?) { add(label, value.map { Format.grouped($0) }) }
        func add(_ label: String, _ value: Double?) { add(label, value.map { "\($0)" }) }

        add("file", file)
        add(
            "size on disk",
            "\(Format.bytes(fileSize)) (\(Format.grouped(fileSize)) bytes), GGUF v\(ggufVersion), \(metadataCount) metadata keys, \(tensorCount) tensors"
        )
        add("name", name)
        add("architecture", architecture ?? "(none: general.architecture missing)")
        add("file type", fileType)
        add("parameters", "\(Format.count(parameterCount)) (\(Format.grouped(parameterCount)))")
        add("weights", "\(Format.bytes(tensorBytes)), \(Format.fixed(bitsPerWeight, 2)) bits per weight")

        let h = hyperparameters
        add("context length", h.contextLength)
        add("embedding length", h.embeddingLength)
        add("blocks", h.blockCount)
        add("feed-forward length", h.feedForwardLength)
        if let heads = h.headCount {
            add("attention heads", "\(heads) query, \(h.headCountKV ?? heads) key/value")
        }
        if let k = h.keyLength { add("head size", "key \(k), value \(h.valueLength ?? k)") }
        add("sliding window", h.slidingWindow)
        add("RMS norm epsilon", h.rmsNormEpsilon)
        add("layer norm epsilon", h.layerNormEpsilon)
        add("RoPE dimensions", h.ropeDimensionCount)
        add("RoPE base", h.ropeFreqBase)
        if let scaling = h.ropeScalingType { add("RoPE scaling", "\(scaling)" + (h.ropeScalingFactor.map { " ×\($0)" } ?? "")) }
        if let experts = h.expertCount { add("experts", "\(experts), \(h.expertUsedCount ?? 0) used per token") }

        let t = tokenizer
        if let kind = t.kind {
            add("tokenizer", kind + (t.preTokenizer.map { ", pre-tokenizer \($0)" } ?? ""))
        }
        add(
            "vocabulary",
            t.vocabularySize.map {
                Format.grouped(Int64($0)) + " tokens" + (t.mergeCount.map { ", \(Format.grouped(Int64($0))) merges" } ?? "")
            })
        let specials = [("BOS", t.bosTokenID), ("EOS", t.eosTokenID), ("UNK", t.unknownTokenID), ("PAD", t.paddingTokenID)]
            .compactMap { label, id in id.map { "\(label) \($0)" } }
        if !specials.isEmpty { add("special tokens", specials.joined(separator: ", ")) }
        add("chat template", hasChatTemplate ? "present" : "absent")

        let width = lines.map(\.0.count).max() ?? 0
        var text = lines.map { label, value in label + String(repeating: " ", count: width - label.count) + "  " + value }
            .joined(separator: "\n")

        text += "\n\nstorage by tensor type:\n"
        text += Format.table(
            ["type", "tensors", "parameters", "bytes", "bits/weight"],
            byType.map {
                [$0.type, "\($0.tensors)", Format.grouped($0.elements), Format.bytes($0.bytes), Format.fixed($0.bitsPerWeight, 3)]
            },
            rightAligned: [1, 2, 3, 4])

        if let tensors {
            text += "\n\ntensors:\n"
            text += Format.table(
                ["name", "type", "shape", "parameters", "bytes", "offset"],
                tensors.map {
                    [
                        Format.printable($0.name), $0.type, $0.shape.map(String.init).joined(separator: " × "),
                        Format.grouped($0.elements), Format.grouped($0.bytes), Format.grouped($0.offset),
                    ]
                },
                rightAligned: [3, 4, 5])
        }
        return text
    }
}
