#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Every failure of the data sets and the text corpus, with a message that names the archive,
/// member, file or value involved and what was expected.
public enum DatasetError: Error, CustomStringConvertible, Sendable, Equatable {
    /// `member` is nil when the fault lies before any member (the gzip header, the first tar header).
    case badArchive(archive: String, member: String?, detail: String)
    case unknownDataset(String, known: [String])
    case fileNotFound(String)
    case notRegularFile(path: String, kind: String)
    case fileTooLarge(path: String, bytes: Int64, limit: Int64)
    case corpusTooLarge(bytes: Int64, limit: Int64)
    /// `offset`: the byte offset of the first offending byte within the file.
    case binaryFile(path: String, offset: Int, reason: String)
    case emptyCorpus(sources: [String])
    case invalidValidationFraction(Double)
    case emptySplit(part: String, corpusBytes: Int, validationFraction: Double)
    case tooShort(part: String, bytes: Int, needed: Int)
    case badCache(path: String, detail: String)
    case io(path: String, operation: String, errno: Int32)

    public var description: String {
        switch self {
        case .badArchive(let archive, let member, let detail):
            return member.map { "\(archive): member \($0): \(detail)" } ?? "\(archive): \(detail)"
        case .unknownDataset(let name, let known):
            return "unknown data set \"\(name)\"; built-in data sets: \(known.joined(separator: ", "))"
        case .fileNotFound(let path):
            return "\(path): no such file"
        case .notRegularFile(let path, let kind):
            return "\(path) is \(kind), not a regular file"
        case .fileTooLarge(let path, let bytes, let limit):
            return "\(path) is \(bytes) bytes, more than the \(limit)-byte limit for a corpus file"
        case .corpusTooLarge(let bytes, let limit):
            return "the corpus files hold \(bytes) bytes together, more than the \(limit)-byte limit"
        case .binaryFile(let path, let offset, let reason):
            return "\(path) is not a text file: \(reason) at byte \(offset)"
        case .emptyCorpus(let sources):
            return "the corpus is empty: \(sources.isEmpty ? "no files were given" : sources.joined(separator: ", ") + " hold no bytes")"
        case .invalidValidationFraction(let fraction):
            return "validation fraction \(fraction): expected a number greater than 0 and less than 1"
        case .emptySplit(let part, let bytes, let fraction):
            return
                "a validation fraction of \(fraction) leaves the \(part) part of the \(bytes)-byte corpus empty; use more text or another fraction"
        case .tooShort(let part, let bytes, let needed):
            return "the \(part) part is \(bytes) bytes; it must hold at least \(needed) bytes"
        case .badCache(let path, let detail):
            return "\(path): \(detail)"
        case .io(let path, let operation, let code):
            return "cannot \(operation) \(path): \(String(cString: strerror(code)))"
        }
    }
}
