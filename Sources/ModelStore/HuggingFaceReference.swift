/// A Hugging Face model repository as users paste it: `hf.co/USER/REPO[:QUANT]`,
/// `huggingface.co/USER/REPO[:QUANT]`, `https://huggingface.co/USER/REPO[:QUANT]` or `USER/REPO[:QUANT]`.
public struct HuggingFaceReference: Equatable, Sendable {
    public let user: String
    public let repo: String
    /// The quantization asked for (as typed, e.g. "Q4_K_M"), nil for the default.
    public let quant: String?

    public var repoID: String { user + "/" + repo }

    /// Hosts whose `USER/REPO` pages name a repository.
    static let hosts: Set<String> = ["hf.co", "huggingface.co", "www.huggingface.co"]

    /// `USER/REPO[:QUANT]` split and checked; `original` is quoted in errors.
    init(path: Substring, original: String) throws {
        var path = path
        while path.hasSuffix("/") { path = path.dropLast() }
        let components = path.split(separator: "/", omittingEmptySubsequences: false)
        guard components.count == 2 else {
            throw StoreError.huggingFace(
                .invalidReference(original, reason: "\(components.count) path components after the host, expected USER/REPO"))
        }
        var repoPart = components[1], quant: Substring? = nil
        if let colon = repoPart.firstIndex(of: ":") {
            quant = repoPart[repoPart.index(after: colon)...]
            repoPart = repoPart[..<colon]
        }
        for (part, what) in [(components[0], "user"), (repoPart, "repository")] where !Self.isValidPart(part) {
            throw StoreError.huggingFace(
                .invalidReference(
                    original, reason: "\(what) \"\(part)\" must be 1-96 of A-Z, a-z, 0-9, '.', '_', '-' and not start with '.' or '-'"))
        }
        if let quant, quant.isEmpty || !quant.utf8.allSatisfy(Self.isNameByte) {
            throw StoreError.huggingFace(
                .invalidReference(original, reason: "quantization \"\(quant)\" must be letters, digits, '.', '_' or '-'"))
        }
        user = String(components[0])
        repo = String(repoPart)
        self.quant = quant.map(String.init)
    }

    /// True when `text` is written the short way (`USER/REPO:QUANT`, or `USER/REPO` when `bareAllowed`).
    static func looksLikeRepository(_ text: String, bareAllowed: Bool) -> Bool {
        let components = text.split(separator: "/", omittingEmptySubsequences: false)
        guard components.count == 2, Self.isValidPart(components[0]) else { return false }
        let repoAndQuant = components[1].split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard Self.isValidPart(repoAndQuant[0]), !repoAndQuant[0].lowercased().hasSuffix(".gguf") else { return false }
        if repoAndQuant.count == 2 { return !repoAndQuant[1].isEmpty && repoAndQuant[1].utf8.allSatisfy(Self.isNameByte) }
        return bareAllowed
    }

    private static func isValidPart(_ part: Substring) -> Bool {
        !part.isEmpty && part.utf8.count <= 96 && part.utf8.allSatisfy(isNameByte) && !part.hasPrefix(".") && !part.hasPrefix("-")
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2e || byte == 0x5f
            || byte == 0x2d
    }
}
