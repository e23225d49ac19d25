/// One key press (or pasted text) at a line-editing prompt, decoded from the terminal's bytes.
public enum Key: Equatable, Sendable {
    /// Printable text: one typed character, or a whole run of them from a single read.
    case text(String)
    case enter
    case backspace
    case delete
    case left, right, up, down
    case home, end
    case wordLeft, wordRight
    case killToStart, killToEnd, deleteWordBackward
    case clearScreen
    /// Ctrl-C.
    case interrupt
    /// Ctrl-D: end of input on an empty line, delete under the cursor otherwise.
    case endOfInput
    /// Text pasted while the terminal's bracketed-paste mode was on: newlines in it are text.
    case paste(String)
    /// A key or escape sequence with no binding (ignored).
    case unbound
}

/// Turns terminal input bytes into keys. Bytes that end mid-sequence (an escape sequence or a UTF-8
/// character split across reads) wait for the next `decode` call.
public struct KeyDecoder: Sendable {
    private var pending: [UInt8] = []
    private var pasting = false
    private var pasted: [UInt8] = []

    public init() {}

    public mutating func decode(_ bytes: some Sequence<UInt8>) -> [Key] {
        pending.append(contentsOf: bytes)
        var keys: [Key] = []
        var text: [UInt8] = []
        func flushText() {
            if !text.isEmpty { keys.append(.text(String(decoding: text, as: UTF8.self))) }
            text.removeAll()
        }
        var index = 0
        decoding: while index < pending.count {
            if pasting {
                if let end = pending[index...].firstRange(of: Self.pasteEnd) {
                    pasted += pending[index..<end.lowerBound]
                    keys.append(.paste(String(decoding: pasted, as: UTF8.self).replacingCarriageReturns()))
                    pasted.removeAll()
                    pasting = false
                    index = end.upperBound
                    continue
                }
                // Keep a tail that could be the start of the end marker.
                let keep = min(Self.pasteEnd.count - 1, pending.count - index)
                pasted += pending[index..<(pending.count - keep)]
                index = pending.count - keep
                break decoding
            }
            let byte = pending[index]
            switch byte {
            case 0x1B:
                guard let (key, length) = Self.escapeSequence(pending[index...]) else { break decoding }  // incomplete
                flushText()
                if key == .paste("") {
                    pasting = true
                } else {
                    keys.append(key)
                }
                index += length
            case 0x20..<0x7F:
                text.append(byte)
                index += 1
            case 0x80...:
                let length = Self.utf8Length(byte)
                guard index + length <= pending.count else { break decoding }  // the rest comes with the next read
                text += pending[index..<(index + length)]
                index += length
            default:
                flushText()
                keys.append(Self.controlKey(byte))
                index += 1
            }
        }
        flushText()
        pending.removeFirst(index)
        return keys
    }

    private static let pasteStart: [UInt8] = Array("\u{1B}[200~".utf8)
    private static let pasteEnd: [UInt8] = Array("\u{1B}[201~".utf8)

    private static func utf8Length(_ lead: UInt8) -> Int {
        switch lead {
        case 0xC0..<0xE0: 2
        case 0xE0..<0xF0: 3
        case 0xF0..<0xF8: 4
        default: 1  // a stray continuation byte: decoded (as U+FFFD) on its own
        }
    }

    private static func controlKey(_ byte: UInt8) -> Key {
        switch byte {
        case 0x0D, 0x0A: .enter
        case 0x7F, 0x08: .backspace
        case 0x01: .home  // Ctrl-A
        case 0x05: .end  // Ctrl-E
        case 0x02: .left  // Ctrl-B
        case 0x06: .right  // Ctrl-F
        case 0x10: .up  // Ctrl-P
        case 0x0E: .down  // Ctrl-N
        case 0x15: .killToStart  // Ctrl-U
        case 0x0B: .killToEnd  // Ctrl-K
        case 0x17: .deleteWordBackward  // Ctrl-W
        case 0x0C: .clearScreen  // Ctrl-L
        case 0x03: .interrupt  // Ctrl-C
        case 0x04: .endOfInput  // Ctrl-D
        case 0x09: .text("    ")  // Tab: spaces, so that what is shown is what is sent
        default: .unbound
        }
    }

    /// The key an escape sequence at the start of `bytes` stands for and its length, or nil when
    /// the sequence is not complete yet. `.paste("")` marks the start of a bracketed paste.
    private static func escapeSequence(_ bytes: ArraySlice<UInt8>) -> (Key, Int)? {
        let start = bytes.startIndex
        guard bytes.count >= 2 else { return nil }
        let second = bytes[start + 1]
        switch second {
        case UInt8(ascii: "["):
            // CSI: parameters (digits and ';') then one final byte in 0x40...0x7E.
            var end = start + 2
            while end < bytes.endIndex, (0x30...0x3F).contains(bytes[end]) { end += 1 }
            guard end < bytes.endIndex else { return nil }
            let parameters = String(decoding: bytes[(start + 2)..<end], as: UTF8.self)
            let length = end - start + 1
            switch (parameters, bytes[end]) {
            case ("", UInt8(ascii: "A")): return (.up, length)
            case ("", UInt8(ascii: "B")): return (.down, length)
            case ("", UInt8(ascii: "C")): return (.right, length)
            case ("", UInt8(ascii: "D")): return (.left, length)
            case ("", UInt8(ascii: "H")), ("1", UInt8(ascii: "~")), ("7", UInt8(ascii: "~")): return (.home, length)
            case ("", UInt8(ascii: "F")), ("4", UInt8(ascii: "~")), ("8", UInt8(ascii: "~")): return (.end, length)
            case ("3", UInt8(ascii: "~")): return (.delete, length)
            case ("1;5", UInt8(ascii: "C")), ("1;3", UInt8(ascii: "C")): return (.wordRight, length)
            case ("1;5", UInt8(ascii: "D")), ("1;3", UInt8(ascii: "D")): return (.wordLeft, length)
            case ("200", UInt8(ascii: "~")): return (.paste(""), length)
            default: return (.unbound, length)
            }
        case UInt8(ascii: "O"):
            // SS3: some terminals send arrows and Home/End this way.
            guard bytes.count >= 3 else { return nil }
            switch bytes[start + 2] {
            case UInt8(ascii: "A"): return (.up, 3)
            case UInt8(ascii: "B"): return (.down, 3)
            case UInt8(ascii: "C"): return (.right, 3)
            case UInt8(ascii: "D"): return (.left, 3)
            case UInt8(ascii: "H"): return (.home, 3)
            case UInt8(ascii: "F"): return (.end, 3)
            default: return (.unbound, 3)
            }
        case UInt8(ascii: "b"): return (.wordLeft, 2)  // Alt-b
        case UInt8(ascii: "f"): return (.wordRight, 2)  // Alt-f
        case 0x7F: return (.deleteWordBackward, 2)  // Alt-Backspace
        default: return (.unbound, 2)
        }
    }
}

extension String {
    /// Pasted text from a terminal ends its lines with CR (or CR LF); the message keeps them as LF.
    fileprivate func replacingCarriageReturns() -> String {
        var bytes: [UInt8] = []
        var previousWasCR = false
        for byte in utf8 {
            if byte == 0x0A && previousWasCR {
                previousWasCR = false
                continue
            }
            previousWasCR = byte == 0x0D
            bytes.append(byte == 0x0D ? 0x0A : byte)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
