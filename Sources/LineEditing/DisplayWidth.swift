/// How many terminal cells a character takes: 2 for East Asian wide and fullwidth characters and
/// emoji, 0 for combining marks and format characters, 1 otherwise. A fixed table (Unicode's East
/// Asian Width W/F ranges), not the C locale, so that it is the same on every machine.
enum DisplayWidth {
    static func of(_ character: Character) -> Int {
        if character == "\n" { return 1 }  // shown as ↵
        var width = 0
        for scalar in character.unicodeScalars {
            width = max(width, of(scalar))
        }
        return width
    }

    static func of(_ text: some Sequence<Character>) -> Int { text.reduce(0) { $0 + of($1) } }

    static func of(_ scalar: Unicode.Scalar) -> Int {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        case .control: return 0
        default: break
        }
        let value = scalar.value
        for range in wideRanges where range.contains(value) { return 2 }
        return 1
    }

    private static let wideRanges: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x231A...0x231B, 0x2329...0x232A, 0x23E9...0x23EC, 0x23F0...0x23F0, 0x23F3...0x23F3,
        0x25FD...0x25FE, 0x2614...0x2615, 0x2648...0x2653, 0x267F...0x267F, 0x2693...0x2693, 0x26A1...0x26A1,
        0x26AA...0x26AB, 0x26BD...0x26BE, 0x26C4...0x26C5, 0x26CE...0x26CE, 0x26D4...0x26D4, 0x26EA...0x26EA,
        0x26F2...0x26F3, 0x26F5...0x26F5, 0x26FA...0x26FA, 0x26FD...0x26FD, 0x2705...0x2705, 0x270A...0x270B,
        0x2728...0x2728, 0x274C...0x274C, 0x274E...0x274E, 0x2753...0x2755, 0x2757...0x2757, 0x2795...0x2797,
        0x27B0...0x27B0, 0x27BF...0x27BF, 0x2B1B...0x2B1C, 0x2B50...0x2B50, 0x2B55...0x2B55, 0x2E80...0x303E,
        0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF, 0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3,
        0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F, 0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x16FE4,
        0x17000...0x18CFF, 0x1B000...0x1B2FF, 0x1F004...0x1F004, 0x1F0CF...0x1F0CF, 0x1F18E...0x1F18E,
        0x1F191...0x1F19A, 0x1F200...0x1F2FF, 0x1F300...0x1F64F, 0x1F680...0x1F6FF, 0x1F7E0...0x1F7EB,
        0x1F90C...0x1F9FF, 0x1FA70...0x1FAFF, 0x20000...0x2FFFD, 0x30000...0x3FFFD,
    ]
}

/// What one line of the prompt shows: the prompt, then as much of the text around the cursor as fits
/// in the terminal's width (the view scrolls sideways instead of wrapping, so the cursor arithmetic
/// never depends on how the terminal wraps).
public struct LineView: Equatable, Sendable {
    /// The text to draw after the prompt (newlines shown as ↵).
    public var visible: String
    /// The cursor's column, counted from the start of the prompt.
    public var cursorColumn: Int

    public init(prompt: String, buffer: LineBuffer, columns: Int) {
        let promptWidth = DisplayWidth.of(prompt)
        // One cell stays free so that the cursor after the last character never wraps the line.
        let room = max(1, columns - promptWidth - 1)
        let characters = buffer.characters
        var start = 0
        // Scroll right until the cursor fits, then extend the view as far as room allows.
        while DisplayWidth.of(characters[start..<buffer.cursor]) > room { start += 1 }
        var end = buffer.cursor
        var used = DisplayWidth.of(characters[start..<end])
        while end < characters.count, used + DisplayWidth.of(characters[end]) <= room {
            used += DisplayWidth.of(characters[end])
            end += 1
        }
        visible = String(characters[start..<end].map { $0 == "\n" ? "↵" : $0 })
        cursorColumn = promptWidth + DisplayWidth.of(characters[start..<buffer.cursor])
    }
}
