#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A model in the store.
public struct StoredModel: Sendable, Codable, Equatable {
    public let name: String
    /// Absolute path of the .gguf file.
    public let path: String
    public let sizeBytes: Int64
    /// Where it came from: a URL, an absolute local path, or `pypi:pkg==ver#member[+...]`.
    public let source: String
    public let sha256: String?
    /// `general.architecture` of the GGUF file, e.g. "llama".
    public let architecture: String?
    /// `general.file_type` as a name, e.g. "Q4_1".
    public let quantization: String?

    public init(
        name: String, path: String, sizeBytes: Int64, source: String, sha256: String?,
        architecture: String?, quantization: String?
    ) {
        self.name = name
        self.path = path
        self.sizeBytes = sizeBytes
        self.source = source
        self.sha256 = sha256
        self.architecture = architecture
        self.quantization = quantization
    }
}

/// The on-disk manifest, `models/<name>.json`.
struct Manifest: Codable, Equatable {
    var name: String
    var source: String
    var sha256: String?
    var size: Int64
    /// ISO 8601 date of the pull.
    var pulledAt: String
    var architecture: String?
    var quantization: String?

    static func read(_ path: String) throws -> Manifest {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw StoreError.badManifest(path: path, detail: "cannot be read")
        }
        do { return try JSONDecoder().decode(Manifest.self, from: data) } catch {
            throw StoreError.badManifest(path: path, detail: "\(error)")
        }
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self)
    }
}
