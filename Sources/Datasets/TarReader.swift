import Compression

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One entry of a tar archive.
struct TarMember: Equatable {
    enum Kind: Equatable {
        case file
        case directory
        /// Hard and symbolic links, devices, FIFOs: listed, never followed or read.
        case special(UInt8)
    }
    let name: String
    let size: Int64
    let kind: Kind
}

/// Bounds on what a tar archive may make the reader hold or read, so a hostile archive fails with
/// an error instead of exhausting memory or time.
struct TarLimits: Equatable {
    /// A GNU long-name record or a pax extended header.
    var metadataBytes = 1 << 20
    /// A member whose data is returned (`readData`).
    var memberBytes: Int64 = 256 << 20
    /// The whole decompressed archive.
    var archiveBytes: Int64 = 4 << 30
}

/// A streaming reader of a ustar/GNU/pax tar archive over a decompressed byte stream: headers
/// (checksummed), long names from GNU 'L' records and pax 'path' records, pax 'size'; member data
/// is read or skipped in fixed chunks and never written to disk. Member names that are absolute or
/// contain a `..` component are refused. Every error names the archive and, where there is one,
/// the member.
final class TarReader {
    private static let blockSize = 512

    let archive: String
    private let inflater: GzipInflater
    let limits: TarLimits
    /// The current member, whose data is next in the stream.
    private var current: TarMember?
    private var dataLeft: Int64 = 0
    private var paddingLeft: Int64 = 0
    /// Decompressed bytes consumed, for messages.
    private var offset: Int64 = 0
    private var ended = false

    init(archive: String, inflater: GzipInflater, limits: TarLimits = TarLimits()) {
        self.archive = archive
        self.inflater = inflater
        self.limits = limits
    }

    /// Reads the tar members of a gzip-compressed archive file and returns the data of those
    /// `select` picks, in archive order; the whole gzip stream is read, so its CRC is checked.
    static func selectedMembers(
        ofGzipFile path: String, archiveName: String, limits: TarLimits = TarLimits(), select: (TarMember) -> Bool
    ) throws -> [(member: TarMember, data: [UInt8])] {
        let fd = try FileSystem.open(path, O_RDONLY)
        defer { close(fd) }
        var position: Int64 = 0
        let inflater = try wrapping(archiveName, nil) {
            try GzipInflater { buffer in
                let n = try FileSystem.readFully(fd, buffer.baseAddress!, buffer.count, at: position, path: path)
                position += Int64(n)
                return n
            }
        }
        return try TarReader(archive: archiveName, inflater: inflater, limits: limits).selectedMembers(select)
    }

    /// The same over compressed bytes in memory.
    static func selectedMembers(
        ofGzipBytes bytes: [UInt8], archiveName: String, limits: TarLimits = TarLimits(), select: (TarMember) -> Bool
    ) throws -> [(member: TarMember, data: [UInt8])] {
        var position = 0
        let inflater = try wrapping(archiveName, nil) {
            try GzipInflater { buffer in
                let n = min(buffer.count, bytes.count - position)
                bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + position, byteCount: n) }
                position += n
                return n
            }
        }
        return try TarReader(archive: archiveName, inflater: inflater, limits: limits).selectedMembers(select)
    }

    func selectedMembers(_ select: (TarMember) -> Bool) throws -> [(member: TarMember, data: [UInt8])] {
        var selected: [(member: TarMember, data: [UInt8])] = []
        while let member = try next() {
            if select(member) { selected.append((member, try readData())) }
        }
        try finish()
        return selected
    }

    // MARK: - Members

    /// The next member, after skipping what is left of the current one's data; nil after the
    /// end-of-archive block (or when the stream ends exactly at a header boundary).
    func next() throws -> TarMember? {
        try skipRestOfCurrent()
        current = nil
        guard !ended else { return nil }
        var longName: String?
        var paxPath: String?
        var paxSize: Int64?
        while true {
            let headerOffset = offset
            guard let block = try readHeaderBlock() else {
                ended = true
                if longName != nil || paxPath != nil || paxSize != nil {
                    throw bad(nil, "the archive ends after an extended header, before the member it describes")
                }
                return nil
            }
            let header = try TarHeader(block, at: headerOffset, archive: archive)
            switch header.typeFlag {
            case UInt8(ascii: "L"):
                longName = try metadataString(try readMetadata(header), trimmingNUL: true)
            case UInt8(ascii: "K"):
                _ = try readMetadata(header)  // long link target: links are never followed
            case UInt8(ascii: "x"):
                let records = try PaxRecords(try readMetadata(header), archive: archive, member: header.name)
                if let path = records.path { paxPath = path }
                if let size = records.size { paxSize = size }
            case UInt8(ascii: "g"):
                _ = try readMetadata(header)  // global pax defaults: none that matter to a reader of names and sizes
            default:
                let name = paxPath ?? longName ?? header.name
                let size = paxSize ?? header.size
                try TarReader.checkSafe(name, archive: archive)
                let kind: TarMember.Kind
                switch header.typeFlag {
                case UInt8(ascii: "0"), 0, UInt8(ascii: "7"): kind = .file
                case UInt8(ascii: "5"): kind = .directory
                default: kind = .special(header.typeFlag)
                }
                let member = TarMember(name: name, size: size, kind: kind)
                current = member
                // Only regular files carry data (and unknown types, which POSIX says to read as files).
                let carriesData = kind == .file || !TarHeader.dataLessTypes.contains(header.typeFlag)
                dataLeft = carriesData ? size : 0
                paddingLeft = carriesData ? TarReader.padding(after: size) : 0
                return member
            }
        }
    }

    /// The current member's data, whole.
    func readData() throws -> [UInt8] {
        guard let member = current else { return [] }
        guard dataLeft <= limits.memberBytes else {
            throw bad(member.name, "holds \(dataLeft) bytes, more than the \(limits.memberBytes)-byte limit for a member read into memory")
        }
        var data = [UInt8](repeating: 0, count: Int(dataLeft))
        let count = data.count
        try data.withUnsafeMutableBytes { try readExactly(into: $0, count: count, member: member) }
        dataLeft = 0
        return data
    }

    /// Reads the rest of the gzip stream, so its trailer is checked.
    func finish() throws {
        try skipRestOfCurrent()
        current = nil
        try TarReader.wrapping(archive, nil) { try inflater.drain(limit: limits.archiveBytes) }
    }

    // MARK: - Reading

    private func skipRestOfCurrent() throws {
        guard let member = current else { return }
        let total = dataLeft + paddingLeft
        guard total > 0 else { return }
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { scratch.deallocate() }
        var left = total
        while left > 0 {
            let step = Int(min(left, Int64(scratch.count)))
            try readExactly(into: scratch, count: step, member: member)
            left -= Int64(step)
        }
        dataLeft = 0
        paddingLeft = 0
    }

    /// The next 512-byte header, or nil at the end-of-archive block or at a clean end of the stream.
    private func readHeaderBlock() throws -> [UInt8]? {
        var block = [UInt8](repeating: 0, count: TarReader.blockSize)
        let got = try block.withUnsafeMutableBytes { try readUpTo(into: $0, count: TarReader.blockSize) }
        if got == 0 { return nil }
        guard got == TarReader.blockSize else {
            throw bad(nil, "the archive ends inside a header (\(got) of 512 bytes at offset \(offset - Int64(got)))")
        }
        return block.allSatisfy({ $0 == 0 }) ? nil : block
    }

    private func readMetadata(_ header: TarHeader) throws -> [UInt8] {
        guard header.size <= Int64(limits.metadataBytes) else {
            throw bad(header.name, "extended header of \(header.size) bytes is larger than the \(limits.metadataBytes)-byte limit")
        }
        let member = TarMember(name: header.name, size: header.size, kind: .special(header.typeFlag))
        var data = [UInt8](repeating: 0, count: Int(header.size))
        try data.withUnsafeMutableBytes { try readExactly(into: $0, count: Int(header.size), member: member) }
        let padding = Int(TarReader.padding(after: header.size))
        if padding > 0 {
            var pad = [UInt8](repeating: 0, count: padding)
            try pad.withUnsafeMutableBytes { try readExactly(into: $0, count: padding, member: member) }
        }
        return data
    }

    private func metadataString(_ bytes: [UInt8], trimmingNUL: Bool) throws -> String {
        let end = trimmingNUL ? (bytes.firstIndex(of: 0) ?? bytes.count) : bytes.count
        return String(decoding: bytes[..<end], as: UTF8.self)
    }

    /// Exactly `count` bytes of the current member (data or padding), or an error saying where it was cut.
    private func readExactly(into buffer: UnsafeMutableRawBufferPointer, count: Int, member: TarMember) throws {
        let got = try readUpTo(into: buffer, count: count, member: member.name)
        guard got == count else {
            throw bad(member.name, "declares \(member.size) bytes of data, but the archive ends at decompressed byte \(offset)")
        }
    }

    private func readUpTo(into buffer: UnsafeMutableRawBufferPointer, count: Int, member: String? = nil) throws -> Int {
        var done = 0
        while done < count {
            let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<count])
            let n = try TarReader.wrapping(archive, member) { try inflater.read(into: slice) }
            if n == 0 { break }
            done += n
            offset += Int64(n)
            guard offset <= limits.archiveBytes else {
                throw bad(member, "the archive decompresses to more than the \(limits.archiveBytes)-byte limit")
            }
        }
        return done
    }

    // MARK: - Rules

    static func padding(after size: Int64) -> Int64 {
        let remainder = size % Int64(blockSize)
        return remainder == 0 ? 0 : Int64(blockSize) - remainder
    }

    /// A member name a reader could be tricked by: absolute, or climbing out with `..`.
    static func checkSafe(_ name: String, archive: String) throws {
        if name.hasPrefix("/") {
            throw DatasetError.badArchive(archive: archive, member: name, detail: "absolute member names are refused")
        }
        if name.split(separator: "/", omittingEmptySubsequences: false).contains("..") {
            throw DatasetError.badArchive(archive: archive, member: name, detail: "member names with a '..' component are refused")
        }
        if name.isEmpty {
            throw DatasetError.badArchive(archive: archive, member: name, detail: "a member has an empty name")
        }
    }

    private func bad(_ member: String?, _ detail: String) -> DatasetError {
        .badArchive(archive: archive, member: member, detail: detail)
    }

    /// Runs `body`, turning a gzip failure into an archive error naming `member`.
    static func wrapping<T>(_ archive: String, _ member: String?, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let failure as GzipInflater.Failure {
            throw DatasetError.badArchive(archive: archive, member: member, detail: failure.detail)
        }
    }
}
