#if canImport(Glibc)
import Glibc
#endif

/// Earlier entries for Up/Down at the prompt, oldest first, kept across runs in a text file (one entry
/// per line; a newline inside an entry is written `\n`, a backslash `\\`).
public struct History: Sendable {
    public private(set) var entries: [String]
    public let limit: Int
    /// Where Up/Down is: `entries.count` is the line being typed (not yet an entry).
    private var position: Int
    /// The line being typed, kept while browsing older entries.
    private var draft = ""

    public init(entries: [String] = [], limit: Int = 1000) {
        self.entries = Array(entries.suffix(limit))
        self.limit = limit
        position = self.entries.count
    }

    /// Adds a submitted line (not an empty one, nor a repeat of the last) and returns to the draft.
    public mutating func add(_ entry: String) {
        if !entry.isEmpty, entry != entries.last {
            entries.append(entry)
            if entries.count > limit { entries.removeFirst(entries.count - limit) }
        }
        position = entries.count
        draft = ""
    }

    /// The entry before the one shown, or nil at the oldest; `current` is what the line holds now.
    public mutating func older(from current: String) -> String? {
        guard position > 0 else { return nil }
        if position == entries.count { draft = current }
        position -= 1
        return entries[position]
    }

    /// The entry after the one shown (the draft after the newest), or nil when already at the draft.
    public mutating func newer() -> String? {
        guard position < entries.count else { return nil }
        position += 1
        return position == entries.count ? draft : entries[position]
    }

    // MARK: - File

    public static func load(path: String, limit: Int = 1000) -> History {
        guard let file = fopen(path, "rb") else { return History(limit: limit) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while bytes.count < 16 << 20 {  // a history file is small; never read an unbounded one
            let n = fread(&chunk, 1, chunk.count, file)
            if n == 0 { break }
            bytes += chunk[0..<n]
        }
        let lines = bytes.split(separator: UInt8(ascii: "\n")).map { unescape(String(decoding: $0, as: UTF8.self)) }
        return History(entries: lines, limit: limit)
    }

    /// Writes the entries to `path` through a temporary file and a rename, so a crash never leaves half a file.
    public func save(path: String) {
        let temporary = path + ".tmp"
        guard let file = fopen(temporary, "wb") else { return }
        let text = entries.map(Self.escape).joined(separator: "\n") + (entries.isEmpty ? "" : "\n")
        let written = Array(text.utf8).withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, file) }
        let ok = fclose(file) == 0 && written == text.utf8.count
        if ok { rename(temporary, path) } else { unlink(temporary) }
    }

    static func escape(_ entry: String) -> String {
        var out = ""
        for character in entry {
            switch character {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }

    static func unescape(_ line: String) -> String {
        var out = ""
        var escaping = false
        for character in line {
            if escaping {
                out.append(character == "n" ? "\n" : character)
                escaping = false
            } else if character == "\\" {
                escaping = true
            } else {
                out.append(character)
            }
        }
        return out
    }
}
