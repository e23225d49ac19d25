/// Model names and reference classification.
extension ModelStore {
    /// Names use only [a-z0-9._-], do not start with '.' or '-', do not end in ".gguf", and
    /// are at most 100 characters: they become file names, so no path traversal is possible.
    @discardableResult
    public static func validateName(_ name: String) throws -> String {
        if name.isEmpty { throw StoreError.invalidName(name, reason: "empty") }
        if name.utf8.count > 100 { throw StoreError.invalidName(name, reason: "longer than 100 characters") }
        if name.contains("/") {
            throw StoreError.invalidName(name, reason: "looks like a path")
        }
        for byte in name.utf8 {
            let ok = (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2e || byte == 0x5f || byte == 0x2d
            if !ok {
                let hint = name.lowercased() != name ? "; names are lowercase" : ""
                throw StoreError.invalidName(name, reason: "contains \"\(Character(Unicode.Scalar(byte)))\"\(hint)")
            }
        }
        if name.hasPrefix(".") || name.hasPrefix("-") { throw StoreError.invalidName(name, reason: "starts with \"\(name.first!)\"") }
        if name.hasSuffix(".gguf") { throw StoreError.invalidName(name, reason: "ends in .gguf (that would be read as a file path)") }
        return name
    }

    /// Default name for a file: the name without .gguf, lowercased, other characters → '-'.
    static func derivedName(fromFileName fileName: String) -> String {
        var base = fileName
        if base.lowercased().hasSuffix(".gguf") { base = String(base.dropLast(5)) }
        var name = String(
            base.lowercased().map { c -> Character in
                c.isASCII && (c.isLetter || c.isNumber || c == "." || c == "_" || c == "-") ? c : "-"
            })
        while name.hasPrefix(".") || name.hasPrefix("-") { name.removeFirst() }
        while name.lowercased().hasSuffix(".gguf") { name = String(name.dropLast(5)) }
        return name.isEmpty ? "model" : String(name.prefix(100))
    }

    /// Default name for a URL: its last path component (query and fragment dropped).
    static func derivedName(fromURL url: String) -> String {
        var path = Substring(url)
        if let cut = path.firstIndex(where: { $0 == "?" || $0 == "#" }) { path = path[..<cut] }
        let last = path.split(separator: "/").last.map(String.init) ?? "model"
        return derivedName(fromFileName: last)
    }
}

enum Reference: Equatable {
    case file(String)
    case url(String)
    case name(String)

    /// http(s):// → URL; contains "/" or ends in .gguf → file path (must exist); else a name.
    init(_ reference: String) throws {
        let lower = reference.lowercased()
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            self = .url(reference)
        } else if reference.contains("/") || lower.hasSuffix(".gguf") {
            guard POSIX.isRegularFile(reference) else { throw StoreError.fileNotFound(reference) }
            self = .file(reference)
        } else {
            self = .name(reference)
        }
    }
}
