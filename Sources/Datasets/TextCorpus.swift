import ModelStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The text a model trains on: one or more UTF-8 files (or a built-in data set) as one byte array.
///
/// Files are joined in the order given. Where a file does not end with a newline and another file
/// follows, one `\n` is put between them, so the last line of one file and the first of the next
/// never run together into one line; nothing else is added or changed (no BOM stripping, no line-end
/// conversion). Every file must be a regular file of valid UTF-8 without NUL bytes, at most
/// `maxFileBytes` long, as are all of them together with their separators (checked from their sizes
/// before anything is read), and the corpus must not be empty.
public struct TextCorpus: Sendable {
    /// 2 GiB: larger files are refused before a byte is read.
    public static let defaultMaxFileBytes: Int64 = 2 << 30

    public let bytes: [UInt8]
    /// The files read, in order.
    public let sources: [String]

    /// Reads `files` in order.
    public init(files: [String], maxFileBytes: Int64 = TextCorpus.defaultMaxFileBytes) throws {
        // Every file is checked and sized first, so a bad last file is reported before gigabytes
        // are read; each is closed again, so any number of files stays within the descriptor limit.
        var total = Int64(max(0, files.count - 1))
        for path in files {
            let (fd, size) = try TextCorpus.open(path, maxFileBytes: maxFileBytes)
            close(fd)
            total += size
        }
        guard total <= maxFileBytes else { throw DatasetError.corpusTooLarge(bytes: total, limit: maxFileBytes) }

        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(total))
        for path in files {
            let (fd, fileSize) = try TextCorpus.open(path, maxFileBytes: maxFileBytes)
            defer { close(fd) }
            if let last = bytes.last, last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
            let start = bytes.count
            let size = Int(fileSize)
            bytes.append(contentsOf: repeatElement(0, count: size))
            let read = try bytes.withUnsafeMutableBytes { try FileSystem.readFully(fd, $0.baseAddress! + start, size, at: 0, path: path) }
            // A file that shrank since it was sized keeps what was there.
            bytes.removeLast(size - read)
            if let problem = bytes.withUnsafeBytes({ TextValidation.firstProblem(in: UnsafeRawBufferPointer(rebasing: $0[start...])) }) {
                throw DatasetError.binaryFile(path: path, offset: problem.offset, reason: problem.reason)
            }
        }
        guard !bytes.isEmpty else { throw DatasetError.emptyCorpus(sources: files) }
        self.bytes = bytes
        self.sources = files
    }

    /// Opens a corpus file after checking that it is a regular file within the limit; returns the
    /// descriptor and the size.
    private static func open(_ path: String, maxFileBytes: Int64) throws -> (Int32, Int64) {
        // O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        let fd = try FileSystem.open(path, O_RDONLY | O_NONBLOCK)
        do {
            let status = try FileSystem.status(fd, path: path)
            guard status.isRegular else { throw DatasetError.notRegularFile(path: path, kind: status.kind) }
            guard status.size <= maxFileBytes else { throw DatasetError.fileTooLarge(path: path, bytes: status.size, limit: maxFileBytes) }
            return (fd, status.size)
        } catch {
            close(fd)
            throw error
        }
    }

    /// A built-in data set's files, fetched and cached on first use.
    public init(dataset: BuiltInDataset, home: String? = nil, progress: (any PullProgress)? = nil) throws {
        try self.init(files: try dataset.files(home: home, progress: progress))
    }

    /// What `--data` names: one argument that is a built-in data set's name and no file of that
    /// name gives the data set; anything else is a list of files.
    public init(data arguments: [String], home: String? = nil, progress: (any PullProgress)? = nil) throws {
        if arguments.count == 1, let dataset = BuiltInDataset.named(arguments[0]), !FileSystem.exists(arguments[0]) {
            try self.init(dataset: dataset, home: home, progress: progress)
        } else {
            try self.init(files: arguments)
        }
    }

    /// The first part for training, the last `validationFraction` of the bytes for validation, as
    /// nanoGPT splits (the training part is the first ⌊count × (1 − fraction)⌋ bytes). A fraction
    /// outside (0, 1), or one that leaves either part empty, is refused.
    public func split(validationFraction: Double) throws -> (train: [UInt8], validation: [UInt8]) {
        guard validationFraction > 0, validationFraction < 1 else {
            throw DatasetError.invalidValidationFraction(validationFraction)
        }
        let trainCount = Int((Double(bytes.count) * (1 - validationFraction)).rounded(.down))
        guard trainCount > 0 else {
            throw DatasetError.emptySplit(part: "training", corpusBytes: bytes.count, validationFraction: validationFraction)
        }
        guard trainCount < bytes.count else {
            throw DatasetError.emptySplit(part: "validation", corpusBytes: bytes.count, validationFraction: validationFraction)
        }
        return (Array(bytes[..<trainCount]), Array(bytes[trainCount...]))
    }

    /// Checks that a part of the corpus (`part`: "training", "validation") holds at least `count`
    /// bytes, e.g. the context plus one for a next-token target.
    public static func requireLength(_ count: Int, of bytes: [UInt8], for part: String) throws {
        guard bytes.count >= count else { throw DatasetError.tooShort(part: part, bytes: bytes.count, needed: count) }
    }
}
