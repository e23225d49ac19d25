/// The line being edited and its cursor, in user-perceived characters, with the usual readline
/// motions and kills. No terminal I/O: `LineEditor` draws it.
public struct LineBuffer: Equatable, Sendable {
    public private(set) var characters: [Character] = []
    /// Index into `characters` where typing inserts (0…count).
    public private(set) var cursor = 0

    public init(_ text: String = "") {
        characters = Array(text)
        cursor = characters.count
    }

    public var text: String { String(characters) }
    public var isEmpty: Bool { characters.isEmpty }
    public var cursorAtEnd: Bool { cursor == characters.count }

    public mutating func insert(_ text: String) {
        // Rebuilt as one string so that a combining mark typed after its base joins it.
        let before = String(characters[..<cursor]) + text
        characters = Array(before + String(characters[cursor...]))
        cursor = min(before.count, characters.count)
    }

    public mutating func backspace() {
        guard cursor > 0 else { return }
        characters.remove(at: cursor - 1)
        cursor -= 1
    }

    public mutating func deleteForward() {
        guard cursor < characters.count else { return }
        characters.remove(at: cursor)
    }

    public mutating func moveLeft() { cursor = max(0, cursor - 1) }
    public mutating func moveRight() { cursor = min(characters.count, cursor + 1) }
    public mutating func moveHome() { cursor = 0 }
    public mutating func moveEnd() { cursor = characters.count }

    /// To the start of the word before the cursor (skipping the spaces before it first).
    public mutating func moveWordLeft() { cursor = wordStart(before: cursor) }

    /// To the end of the word after the cursor.
    public mutating func moveWordRight() {
        var index = cursor
        while index < characters.count, characters[index].isWhitespace { index += 1 }
        while index < characters.count, !characters[index].isWhitespace { index += 1 }
        cursor = index
    }

    public mutating func killToStart() {
        characters.removeSubrange(0..<cursor)
        cursor = 0
    }

    public mutating func killToEnd() { characters.removeSubrange(cursor...) }

    public mutating func deleteWordBackward() {
        let start = wordStart(before: cursor)
        characters.removeSubrange(start..<cursor)
        cursor = start
    }

    public mutating func replace(with text: String) {
        characters = Array(text)
        cursor = characters.count
    }

    private func wordStart(before position: Int) -> Int {
        var index = position
        while index > 0, characters[index - 1].isWhitespace { index -= 1 }
        while index > 0, !characters[index - 1].isWhitespace { index -= 1 }
        return index
    }
}
