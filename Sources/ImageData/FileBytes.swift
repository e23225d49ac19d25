import Compression

#if canImport(Glibc)
import Glibc
#endif

/// Sequential bytes of a file, gunzipped on the fly when it starts with gzip's magic (1f 8b).
/// `maximumBytes` bounds what the file can hold, so a header's claim can be refused before any
/// allocation: the file size for a plain file, and the most that deflate can expand to for gzip.
final class FileBytes {
    let path: String
    let isGzip: Bool
    let fileSize: Int
    private let file: UnsafeMutablePointer<FILE>
    private var inflater: GzipInflater?

    /// Deflate never expands more than 1032:1 (RFC 1951 §3.2.5: at most 258 bytes per 2-bit code).
    static let deflateMaximumRatio = 1032

    /// `allowGzip: false` reads the bytes as they are.
    init(path: String, allowGzip: Bool = true) throws {
        self.path = path
        guard let file = fopen(path, "rb") else {
            throw ImageDataError("\(path): cannot open (\(String(cString: strerror(errno))))")
        }
        self.file = file
        var info = stat()
        guard fstat(fileno(file), &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            fclose(file)
            throw ImageDataError("\(path): not a regular file")
        }
        fileSize = Int(info.st_size)
        var magic: (UInt8, UInt8) = (0, 0)
        let got = withUnsafeMutableBytes(of: &magic) { fread($0.baseAddress, 1, 2, file) }
        isGzip = allowGzip && got == 2 && magic.0 == 0x1f && magic.1 == 0x8b
        rewind(file)
        if isGzip {
            inflater = try GzipInflater { [file] buffer in fread(buffer.baseAddress, 1, buffer.count, file) }
        }
    }

    deinit { fclose(file) }

    var maximumBytes: Int { isGzip ? fileSize.multipliedReportingOverflow(by: Self.deflateMaximumRatio).partialValue : fileSize }

    var describedSize: String {
        isGzip ? "at most \(maximumBytes) bytes once gunzipped (\(fileSize) compressed)" : "\(fileSize) bytes"
    }

    /// Reads until `buffer` is full or the data ends; returns how many bytes came.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var filled = 0
        while filled < buffer.count {
            let rest = UnsafeMutableRawBufferPointer(rebasing: buffer[filled...])
            let n: Int
            if let inflater {
                do { n = try inflater.read(into: rest) } catch let failure as GzipInflater.Failure {
                    throw ImageDataError("\(path): \(failure.detail)")
                }
            } else {
                n = fread(rest.baseAddress, 1, rest.count, file)
            }
            if n == 0 { break }
            filled += n
        }
        return filled
    }

    /// Fills `buffer` completely or fails naming `what` was cut short.
    func readExactly(into buffer: UnsafeMutableRawBufferPointer, what: String) throws {
        let got = try read(into: buffer)
        guard got == buffer.count else {
            throw ImageDataError("\(path): truncated: \(what) needs \(buffer.count) bytes, only \(got) remain")
        }
    }

    /// `count` bytes, or a failure naming `what` was cut short. A plain file's size was checked
    /// against `count` already, so its bytes are allocated at once; gunzipped data grows with
    /// what actually arrives, so a small gzip file claiming gigabytes fails at its real end
    /// instead of allocating the claim.
    func readAll(count: Int, what: String) throws -> [UInt8] {
        guard isGzip else {
            var bytes = [UInt8](repeating: 0, count: count)
            try bytes.withUnsafeMutableBytes { try readExactly(into: $0, what: what) }
            return bytes
        }
        let step = 1 << 22
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(count, step))
        while bytes.count < count {
            let start = bytes.count
            let wanted = min(step, count - start)
            bytes.append(contentsOf: repeatElement(0, count: wanted))
            let got = try bytes.withUnsafeMutableBytes { try read(into: UnsafeMutableRawBufferPointer(rebasing: $0[start...])) }
            guard got == wanted else {
                throw ImageDataError("\(path): truncated: \(what) needs \(count) bytes, only \(start + got) remain")
            }
        }
        return bytes
    }

    /// Fails when data follows what the format described (and checks gzip's CRC at the end).
    func expectEnd(afterBytes consumed: Int) throws {
        var probe: UInt8 = 0
        let extra = try withUnsafeMutableBytes(of: &probe) { try read(into: $0) }
        guard extra == 0 else {
            throw ImageDataError("\(path): \(consumed) bytes expected from the header, but more data follows")
        }
    }
}
