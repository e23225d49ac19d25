import Tokenizers

/// Where each token's bytes lie in the text it was encoded from, so that masks can be drawn in
/// text (a message's content, a completion) and read off in tokens.
enum TokenAlignment {
    /// Byte ranges of `tokens` in `text`, in order and covering it; nil when the tokens do not
    /// spell the text. A control token whose text is not at its place (BOS added before the text)
    /// gets an empty range; a leading space the tokenizer adds to a run (SentencePiece's
    /// `add_space_prefix`) is not in the text and is skipped.
    static func byteRanges(of tokens: [Int32], in text: [UInt8], tokenizer: any Tokenizer) -> [Range<Int>]? {
        var ranges: [Range<Int>] = []
        ranges.reserveCapacity(tokens.count)
        var position = 0
        for id in tokens {
            let bytes = tokenizer.decodeBytes(id, special: true)
            let rest = text[position...]
            if rest.starts(with: bytes) {
                ranges.append(position..<(position + bytes.count))
                position += bytes.count
            } else if bytes.first == UInt8(ascii: " "), rest.starts(with: bytes.dropFirst()) {
                ranges.append(position..<(position + bytes.count - 1))
                position += bytes.count - 1
            } else if tokenizer.isControl(id) || bytes.isEmpty {
                ranges.append(position..<position)
            } else {
                return nil
            }
        }
        return position == text.count ? ranges : nil
    }
}
