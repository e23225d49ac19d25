/// Turns generated token bytes into text that is safe to send: whole UTF-8 characters only, and
/// nothing that might turn out to be the start of a stop string.
struct CompletionText {
    let stops: [String]
    private var pending: [UInt8] = []
    /// Text decoded so far (complete characters), of which `sent` characters are out.
    private(set) var text = ""
    private var sentCount = 0
    private(set) var stopped = false

    init(stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// Adds a token's bytes; returns the text that can go out now.
    mutating func append(_ bytes: [UInt8]) -> String {
        pending += bytes
        let complete = Self.completePrefixLength(pending)
        if complete > 0 {
            text += String(decoding: pending[..<complete], as: UTF8.self)
            pending.removeFirst(complete)
        }
        // A stop string ends the text just before it.
        for stop in stops {
            if let range = text.firstRange(of: stop) {
                text = String(text[..<range.lowerBound])
                stopped = true
                return takeUnsent(upTo: text.count)
            }
        }
        // Hold back the longest tail that could still grow into a stop string.
        var holdBack = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, text.count), to: 0, by: -1) where text.hasSuffix(String(stop.prefix(length))) {
                holdBack = max(holdBack, length)
                break
            }
        }
        return takeUnsent(upTo: text.count - holdBack)
    }

    /// What is left when generation ends for another reason: held-back text and any undecodable bytes.
    mutating func flush() -> String {
        if !pending.isEmpty {
            text += String(decoding: pending, as: UTF8.self)
            pending = []
        }
        return takeUnsent(upTo: text.count)
    }

    private mutating func takeUnsent(upTo end: Int) -> String {
        guard end > sentCount else { return "" }
        let start = text.index(text.startIndex, offsetBy: sentCount)
        let stop = text.index(text.startIndex, offsetBy: end)
        sentCount = end
        return String(text[start..<stop])
    }

    /// Bytes that form whole UTF-8 sequences; a trailing incomplete sequence waits for more.
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        var i = bytes.count - 1
        var back = 0
        while i >= 0, back < 4, bytes[i] & 0xC0 == 0x80 { i -= 1; back += 1 }
        guard i >= 0 else { return bytes.count }
        let lead = bytes[i]
        let need = lead < 0x80 ? 1 : lead >> 5 == 0b110 ? 2 : lead >> 4 == 0b1110 ? 3 : lead >> 3 == 0b11110 ? 4 : 1
        return bytes.count - i >= need ? bytes.count : i
    }
}
