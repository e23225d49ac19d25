/// Turns a stream of token ids into text as they arrive, never emitting half a character:
/// a byte-level token can end in the middle of a multi-byte UTF-8 sequence (emoji, CJK), so the
/// incomplete tail is held back until the tokens that complete it arrive, or `flush()`.
public struct IncrementalDecoder: Sendable {
    private let tokenizer: any Tokenizer
    private let special: Bool
    private var pending: [UInt8] = []

    public init(tokenizer: any Tokenizer, special: Bool = false) {
        self.tokenizer = tokenizer
        self.special = special
    }

    /// Text completed by this token (possibly empty).
    public mutating func push(_ id: Int32) -> String {
        pending += tokenizer.decodeBytes(id, special: special)
        let complete = Self.completePrefixLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Whatever is held back; an incomplete sequence comes out as U+FFFD.
    public mutating func flush() -> String {
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    /// Length of the prefix that can be decoded now: everything except a trailing sequence that
    /// is still a valid start of a character. Invalid bytes are not held (they decode to U+FFFD
    /// now rather than stall the stream).
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        let n = bytes.count
        var i = n - 1
        // Walk back over at most three continuation bytes to the lead byte.
        while i >= 0 && i >= n - 4 && bytes[i] & 0xC0 == 0x80 { i -= 1 }
        guard i >= 0 && i >= n - 4 else { return n }
        let lead = bytes[i]
        let needed: Int
        switch lead {
        case 0xC2...0xDF: needed = 2
        case 0xE0...0xEF: needed = 3
        case 0xF0...0xF4: needed = 4
        default: return n
        }
        let have = n - i
        guard have < needed else { return n }
        // The second byte's range depends on the lead (no overlongs, surrogates or > U+10FFFF).
        if have >= 2 {
            let second = bytes[i + 1]
            let ok: Bool
            switch lead {
            case 0xE0: ok = second >= 0xA0
            case 0xED: ok = second <= 0x9F
            case 0xF0: ok = second >= 0x90
            case 0xF4: ok = second <= 0x8F
            default: ok = true
            }
            if !ok { return n }
        }
        return i
    }
}
