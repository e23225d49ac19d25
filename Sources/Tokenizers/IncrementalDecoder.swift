/// Turns a stream of token ids into text as they arrive, never emitting part of a character.
///
/// A byte-level token can end inside a multi-byte UTF-8 sequence (emoji, CJK), so a trailing
/// sequence that is the valid start of a character (Unicode's table of well-formed byte
/// sequences: no overlong, surrogate or beyond-U+10FFFF starts) is held back until the tokens that
/// complete it arrive. Bytes that can never become a character — a stray continuation byte, a byte
/// no sequence starts with, a start cut short by the next character — go out at once as U+FFFD
/// (one per maximal ill-formed subpart, as Swift's decoder replaces them), so they cannot stall the
/// text behind them. At the end of the stream, `flush()` gives what is held back: a start that can
/// no longer complete, as U+FFFD. The pieces joined always equal the whole stream decoded at once.
/// A stream cut short instead (a token limit, a stop string) ends with
/// `discardIncompleteCharacter()`: the character the model had begun was never written, so no
/// part of it, not even U+FFFD, goes out.
public struct IncrementalDecoder: Sendable {
    private let tokenizer: any Tokenizer
    private let special: Bool
    private var pending: [UInt8] = []

    /// `special`: whether control tokens contribute their text (see `Tokenizer.decodeBytes`).
    public init(tokenizer: any Tokenizer, special: Bool = false) {
        self.tokenizer = tokenizer
        self.special = special
    }

    /// Text completed by this token (possibly empty).
    public mutating func push(_ id: Int32) -> String {
        pending += tokenizer.decodeBytes(id, special: special)
        let ready = pending.count - Self.incompleteTailLength(pending)
        guard ready > 0 else { return "" }
        let text = String(decoding: pending[..<ready], as: UTF8.self)
        pending.removeFirst(ready)
        return text
    }

    /// Whatever is held back (a character's start that can no longer complete, as U+FFFD).
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Drops what is held back: the first bytes of a character whose remaining bytes will never
    /// come because generation stopped. What `push` returned is all the text there is.
    public mutating func discardIncompleteCharacter() { pending.removeAll() }

    /// How many trailing bytes are the valid start of a character still missing bytes (0…3).
    static func incompleteTailLength(_ bytes: [UInt8]) -> Int {
        // The start byte is at most three back; the bytes after it are continuation bytes.
        var start = bytes.count - 1
        while start >= 0, start > bytes.count - 4, bytes[start] & 0xC0 == 0x80 { start -= 1 }
        guard start >= 0, let length = sequenceLength(startingWith: bytes[start]) else { return 0 }
        let have = bytes.count - start
        guard have < length else { return 0 }
        if have >= 2, !allowedSecondBytes(after: bytes[start]).contains(bytes[start + 1]) { return 0 }
        return have
    }

    /// The length of a well-formed sequence that starts with `byte`; nil when none does
    /// (continuation bytes, C0, C1, F5…FF).
    static func sequenceLength(startingWith byte: UInt8) -> Int? {
        switch byte {
        case 0x00...0x7F: 1
        case 0xC2...0xDF: 2
        case 0xE0...0xEF: 3
        case 0xF0...0xF4: 4
        default: nil
        }
    }

    /// The second bytes a well-formed sequence may have after `lead`: narrower than 80…BF where
    /// the other values would give an overlong form, a surrogate or a code point past U+10FFFF.
    static func allowedSecondBytes(after lead: UInt8) -> ClosedRange<UInt8> {
        switch lead {
        case 0xE0: 0xA0...0xBF
        case 0xED: 0x80...0x9F
        case 0xF0: 0x90...0xBF
        case 0xF4: 0x80...0x8F
        default: 0x80...0xBF
        }
    }
}
