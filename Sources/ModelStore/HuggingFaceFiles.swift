#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One file of a repository, as the Hub's model API lists it with `?blobs=true`.
public struct HuggingFaceFile: Equatable, Sendable {
    /// Path inside the repository (`rfilename`), e.g. `Q8_0/model-Q8_0.gguf`.
    public let path: String
    public let size: Int64?
    /// The LFS object's sha256 (the file's content hash), when the file is in LFS.
    public let sha256: String?

    public init(path: String, size: Int64?, sha256: String?) {
        self.path = path
        self.size = size
        self.sha256 = sha256
    }

    var fileName: String { String(path.split(separator: "/").last ?? Substring(path)) }
    var isGGUF: Bool { path.lowercased().hasSuffix(".gguf") }
    /// Vision projectors ship beside the language model and are never the model itself.
    var isProjector: Bool { fileName.lowercased().contains("mmproj") }
    /// `…-00001-of-00003.gguf`.
    var isSplitPart: Bool { Self.splitSuffix(of: stem) != nil }

    /// File name without `.gguf` and without a split suffix.
    var stem: String {
        var name = fileName
        if name.lowercased().hasSuffix(".gguf") { name = String(name.dropLast(5)) }
        return name
    }

    /// The quantization the file name carries ("Q4_K_M", "IQ4_XS", "F16"), uppercased, or nil.
    var quantLabel: String? {
        var base = stem
        if let split = Self.splitSuffix(of: base) { base = String(base.dropLast(split)) }
        let tokens = base.split(whereSeparator: { $0 == "-" || $0 == "." }).map { $0.uppercased() }
        guard let last = tokens.last else { return nil }
        return Self.isQuantToken(last) ? last : nil
    }

    /// Length of a `-00001-of-00003` ending, or nil.
    static func splitSuffix(of stem: String) -> Int? {
        let pattern = Array("-00000-of-00000")
        let tail = Array(stem.suffix(pattern.count))
        guard tail.count == pattern.count else { return nil }
        for (c, p) in zip(tail, pattern) {
            let matches = p == "0" ? c.isASCII && c.isNumber : c.lowercased() == String(p)
            if !matches { return nil }
        }
        return pattern.count
    }

    /// "Q4_K_M", "IQ4_XS", "TQ1_0", "F16", "BF16", "F32".
    static func isQuantToken(_ token: String) -> Bool {
        if ["F16", "BF16", "F32", "F64"].contains(token) { return true }
        for prefix in ["Q", "IQ", "TQ"] where token.hasPrefix(prefix) {
            return token.dropFirst(prefix.count).first?.isNumber ?? false
        }
        return false
    }
}

/// The `GET {endpoint}/api/models/USER/REPO?blobs=true` answer: `siblings` with `rfilename`, `size`
/// and, for LFS files, `lfs.sha256`. Other fields are ignored.
enum HuggingFaceListing {
    private struct Body: Decodable {
        struct Sibling: Decodable {
            struct LFS: Decodable { let sha256: String?; let size: Int64? }
            let rfilename: String
            let size: Int64?
            let lfs: LFS?
        }
        let siblings: [Sibling]?
    }

    static func decode(_ data: Data, url: String) throws -> [HuggingFaceFile] {
        let body: Body
        do { body = try JSONDecoder().decode(Body.self, from: data) } catch {
            throw StoreError.huggingFace(.badListing(url: url, detail: "not the JSON expected: \(error)"))
        }
        guard let siblings = body.siblings else { throw StoreError.huggingFace(.badListing(url: url, detail: "no siblings field")) }
        return siblings.map { sibling in
            let sha = sibling.lfs?.sha256.flatMap { $0.count == 64 ? $0.lowercased() : nil }
            return HuggingFaceFile(path: sibling.rfilename, size: sibling.lfs?.size ?? sibling.size, sha256: sha)
        }
    }
}

/// Which GGUF file of a repository a reference means: the one whose name carries the quantization
/// asked for, else (none asked) Q4_K_M as Ollama and llama.cpp pick, then the next usual choices.
enum GGUFFileChoice {
    static let defaultQuant = "Q4_K_M"
    /// Tried in order when no quantization is given: best size/quality first, then larger, then
    /// smaller; every one is a type Atelier runs.
    static let fallbackOrder = [
        "Q4_K_M", "Q4_K_S", "Q5_K_M", "Q5_K_S", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q6_K", "Q8_0",
        "Q3_K_M", "Q3_K_L", "Q3_K_S", "Q2_K", "F16", "BF16", "F32",
    ]

    static func choose(from files: [HuggingFaceFile], quant: String?, repo: String) throws -> HuggingFaceFile {
        let models = files.filter { $0.isGGUF && !$0.isProjector }
        guard !models.isEmpty else { throw StoreError.huggingFace(.noGGUF(repo: repo, fileCount: files.count)) }
        if let quant {
            var matches = models.filter { containsToken($0.path, quant) }
            if matches.isEmpty { matches = models.filter { $0.path.lowercased().contains(quant.lowercased()) } }
            guard !matches.isEmpty else {
                throw StoreError.huggingFace(.quantNotFound(repo: repo, quant: quant, available: available(models)))
            }
            return try wholeFile(matches, repo: repo)
        }
        // No quantization asked for: the first usual one present as a single file.
        for candidate in fallbackOrder {
            let matches = models.filter { containsToken($0.path, candidate) && !$0.isSplitPart }
            if !matches.isEmpty { return try wholeFile(matches, repo: repo) }
        }
        let whole = models.filter { !$0.isSplitPart }
        if whole.count == 1 { return whole[0] }
        if whole.isEmpty { return try wholeFile(models, repo: repo) }
        throw StoreError.huggingFace(.noDefaultQuant(repo: repo, available: available(models)))
    }

    /// A single file among `matches` (the shortest name, then the first), or the split error.
    private static func wholeFile(_ matches: [HuggingFaceFile], repo: String) throws -> HuggingFaceFile {
        let whole = matches.filter { !$0.isSplitPart }.sorted { ($0.path.count, $0.path) < ($1.path.count, $1.path) }
        if let first = whole.first { return first }
        let firstPart = matches.map(\.path).sorted()[0]
        throw StoreError.huggingFace(.splitNotSupported(repo: repo, file: firstPart))
    }

    /// True when `token` appears in `text` case-insensitively with no letter, digit or '_' on either
    /// side, so "Q4_K" is not found in "Q4_K_M" and "Q4_XS" not in "IQ4_XS".
    static func containsToken(_ text: String, _ token: String) -> Bool {
        let haystack = Array(text.lowercased().utf8), needle = Array(token.lowercased().utf8)
        guard !needle.isEmpty, needle.count <= haystack.count else { return false }
        func isWordByte(_ b: UInt8) -> Bool { (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b == 0x5f }
        for start in 0...(haystack.count - needle.count) where Array(haystack[start..<start + needle.count]) == needle {
            let before = start == 0 || !isWordByte(haystack[start - 1])
            let end = start + needle.count
            let after = end == haystack.count || !isWordByte(haystack[end])
            if before && after { return true }
        }
        return false
    }

    /// The quantizations on offer, for error messages: "Q4_K_M", "Q8_0 (split)", or file names
    /// when a name carries none.
    static func available(_ models: [HuggingFaceFile]) -> [String] {
        var seen: [String] = []
        for file in models.sorted(by: { $0.path < $1.path }) {
            let label = file.quantLabel.map { file.isSplitPart ? $0 + " (split)" : $0 } ?? file.path
            if !seen.contains(label) { seen.append(label) }
        }
        return seen
    }
}
