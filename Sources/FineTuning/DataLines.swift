#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The lines of a jsonl file, read in fixed chunks so that memory is bounded by the line limit
/// whatever the file holds. A line ends at '\n' (a '\r' before it is dropped); the last line may
/// lack it.
enum DataLines {
    /// One line: its number (from 1) and bytes, or nil bytes when it is longer than the limit
    /// (its bytes are not kept; `length` says how long it was).
    typealias Visitor = (_ number: Int, _ bytes: ArraySlice<UInt8>?, _ length: Int) throws -> Void

    static func forEach(in path: String, maxFileBytes: Int64, maxLineBytes: Int, _ visit: Visitor) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw FineTuningDataError(path: path, errno == ENOENT ? "no such file" : "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw FineTuningDataError(path: path, "cannot stat: \(String(cString: strerror(errno)))") }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw FineTuningDataError(path: path, "not a regular file") }
        guard Int64(status.st_size) <= maxFileBytes else {
            throw FineTuningDataError(
                path: path, "the file is \(status.st_size) bytes, more than the \(maxFileBytes)-byte limit for a data file")
        }
        guard status.st_size > 0 else { throw FineTuningDataError(path: path, "the file is empty; expected one JSON object per line") }

        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var line: [UInt8] = []
        var lineLength = 0
        var number = 1
        var total: Int64 = 0
        func finish() throws {
            if lineLength > maxLineBytes {
                try visit(number, nil, lineLength)
            } else {
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                try visit(number, line[...], line.count)
            }
            line.removeAll(keepingCapacity: true)
            lineLength = 0
            number += 1
        }
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FineTuningDataError(path: path, line: number, "read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            total += Int64(n)
            // The file may grow while it is read; the limit holds for what is read.
            guard total <= maxFileBytes else {
                throw FineTuningDataError(path: path, "the file is more than the \(maxFileBytes)-byte limit for a data file")
            }
            var start = 0
            while start < n {
                let end = chunk[start..<n].firstIndex(of: UInt8(ascii: "\n")) ?? n
                lineLength += end - start
                if lineLength <= maxLineBytes { line += chunk[start..<end] } else { line.removeAll() }
                if end < n { try finish() }
                start = end + 1
            }
        }
        if lineLength > 0 || !line.isEmpty { try finish() }
    }
}
