#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
    case huggingFace(HuggingFaceReference)

    /// http(s):// → URL, except a Hugging Face repository page (`https://huggingface.co/USER/REPO`),
    /// which is a repository, and a `…/blob/…` file page, whose download URL is meant;
    /// `hf.co/…` or `huggingface.co/…` → repository. Otherwise, text with a "/" or ending in .gguf is a
    /// file path when something exists there (it must be a regular file), else a repository when it reads
    /// `USER/REPO:QUANT`, or `USER/REPO` whose first part is not a local directory; anything else is a name.
    init(_ reference: String) throws {
        let lower = reference.lowercased()
        for scheme in ["http://", "https://"] where lower.hasPrefix(scheme) {
            let rest = reference.dropFirst(scheme.count)
            let host = rest.prefix { $0 != "/" }.lowercased()
            let path = rest.drop { $0 != "/" }.dropFirst()
            guard HuggingFaceReference.hosts.contains(host) else { break }
            let components = path.split(separator: "/")
            if components.count == 2, !path.contains("?"), !path.contains("#") {
                self = .huggingFace(try HuggingFaceReference(path: path, original: reference))
                return
            }
            if components.count >= 5, components[2] == "blob" {
                let file = components[0..<2] + ["resolve"] + components[3...]
                self = .url(String(reference.prefix(scheme.count)) + String(rest.prefix { $0 != "/" }) + "/" + file.joined(separator: "/"))
                return
            }
            break
        }
        if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
            self = .url(reference)
            return
        }
        for host in HuggingFaceReference.hosts where lower.hasPrefix(host + "/") {
            self = .huggingFace(try HuggingFaceReference(path: reference.dropFirst(host.count + 1), original: reference))
            return
        }
        guard reference.contains("/") || lower.hasSuffix(".gguf") else {
            self = .name(reference)
            return
        }
        var st = stat()
        if stat(reference, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFREG else {
                throw StoreError.notRegularFile(path: reference, kind: POSIX.fileKind(st.st_mode))
            }
            self = .file(reference)
            return
        }
        let firstComponent = String(reference.prefix { $0 != "/" })
        if HuggingFaceReference.looksLikeRepository(reference, bareAllowed: !POSIX.exists(firstComponent)) {
            self = .huggingFace(try HuggingFaceReference(path: Substring(reference), original: reference))
            return
        }
        throw StoreError.fileNotFound(reference)
    }
}
