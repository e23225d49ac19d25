import Tokenizers

/// A vocabulary as one line of text for a checkpoint's metadata: "bytes", or "bpe:" followed by the
/// merges as "left,right" pairs of ids separated by spaces (merge i makes token 256 + i).
public enum TokenizerDescription {
    public static func encode(_ vocabulary: BytePairVocabulary) -> String {
        if vocabulary.merges.isEmpty { return "bytes" }
        return "bpe:" + vocabulary.merges.map { "\($0.left),\($0.right)" }.joined(separator: " ")
    }

    public static func decode(_ text: String) throws -> BytePairVocabulary {
        if text == "bytes" { return .bytes }
        guard text.hasPrefix("bpe:") else {
            throw TrainingError.invalidOption("checkpoint tokenizer \"\(text.prefix(20))…\": expected bytes or bpe:")
        }
        var merges: [BytePairVocabulary.Merge] = []
        for (index, pair) in text.dropFirst(4).split(separator: " ").enumerated() {
            let ids = pair.split(separator: ",").compactMap { Int32($0) }
            guard ids.count == 2 else {
                throw TrainingError.invalidOption("checkpoint tokenizer: merge \(index) \"\(pair)\" is not two ids")
            }
            merges.append(BytePairVocabulary.Merge(left: ids[0], right: ids[1], result: Int32(256 + index)))
        }
        return try BytePairVocabulary(merges: merges)
    }
}
