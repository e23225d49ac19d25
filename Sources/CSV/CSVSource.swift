import Compression
import Glibc
import Threading

/// The bytes of one CSV file in memory: read whole, and inflated when it is gzip (by magic number,
/// whatever its name).
final class CSVBytes: @unchecked Sendable {
    // @unchecked: read-only after init.
    let path: String
    let base: UnsafeRawPointer?
    let count: Int
    private let owned: UnsafeMutableRawPointer?

    init(path: String, maximumDecompressed: Int, pool: ThreadPool) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw CSVError("\(path): cannot open (\(String(cString: strerror(errno))))") }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw CSVError("\(path): cannot stat (\(String(cString: strerror(errno))))") }
        guard status.st_mode & S_IFMT == S_IFREG else { throw CSVError("\(path): not a regular file") }
        let size = Int(status.st_size)
        if size == 0 {
            (base, count, owned) = (nil, 0, nil)
            return
        }
        // Read, not mapped: a file that another process truncates while we parse it would turn
        // into SIGBUS on a mapping; a read copy stays valid whatever happens to the file. The
        // workers read pieces of it side by side (the copy and the page faults of the buffer are
        // most of a read's cost when the file is in the page cache).
        let data = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        let piece = 16 << 20
        do {
            _ = try pool.morsels((size + piece - 1) / piece) { index, _ in
                let start = index * piece, end = min(size, start + piece)
                var done = start
                while done < end {
                    let n = pread(descriptor, data + done, end - done, off_t(done))
                    if n < 0 && errno == EINTR { continue }
                    guard n > 0 else {
                        throw CSVError(
                            "\(path): read failed at byte \(done) of \(size) (\(n == 0 ? "the file shrank" : String(cString: strerror(errno))))"
                        )
                    }
                    done += n
                }
            }
        } catch {
            data.deallocate()
            throw error
        }
        if size >= 2 && data.load(as: UInt8.self) == 0x1f && data.load(fromByteOffset: 1, as: UInt8.self) == 0x8b {
            defer { data.deallocate() }
            let (buffer, length) = try CSVBytes.inflate(
                path: path, UnsafeRawBufferPointer(start: data, count: size), limit: maximumDecompressed)
            (base, count, owned) = (UnsafeRawPointer(buffer), length, buffer)
        } else {
            (base, count, owned) = (UnsafeRawPointer(data), size, data)
        }
    }

    deinit { owned?.deallocate() }

    var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    static func inflate(path: String, _ compressed: UnsafeRawBufferPointer, limit: Int) throws -> (UnsafeMutableRawPointer, Int) {
        var offset = 0
        let inflater: GzipInflater
        do {
            inflater = try GzipInflater { target in
                let n = min(target.count, compressed.count - offset)
                if n > 0 { target.baseAddress!.copyMemory(from: compressed.baseAddress! + offset, byteCount: n) }
                offset += n
                return n
            }
        } catch let failure as GzipInflater.Failure {
            throw CSVError("\(path): \(failure.detail)")
        }
        var capacity = max(1 << 20, min(limit, compressed.count * 4))
        var buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 64)
        var length = 0
        do {
            while true {
                if length == capacity {
                    guard capacity < limit else {
                        buffer.deallocate()
                        throw CSVError("\(path): decompresses to more than \(limit) bytes (the limit)")
                    }
                    let larger = UnsafeMutableRawPointer.allocate(byteCount: min(limit, capacity * 2), alignment: 64)
                    larger.copyMemory(from: buffer, byteCount: length)
                    buffer.deallocate()
                    buffer = larger
                    capacity = min(limit, capacity * 2)
                }
                let n = try inflater.read(into: UnsafeMutableRawBufferPointer(start: buffer + length, count: capacity - length))
                if n == 0 { break }
                length += n
            }
        } catch let failure as GzipInflater.Failure {
            buffer.deallocate()
            throw CSVError("\(path): \(failure.detail)")
        }
        return (buffer, length)
    }
}

/// Paths matching a glob (`*`, `?`, `[…]`), sorted; a pattern without wildcards is itself.
public func expandGlob(_ pattern: String) throws -> [String] {
    guard pattern.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) else { return [pattern] }
    var result = glob_t()
    defer { globfree(&result) }
    let status = glob(pattern, 0, nil, &result)
    guard status == 0 else {
        if status == GLOB_NOMATCH { throw CSVError("no file matches \(pattern)") }
        throw CSVError("cannot expand \(pattern)")
    }
    var paths: [String] = []
    for index in 0..<Int(result.gl_pathc) { if let path = result.gl_pathv[index] { paths.append(String(cString: path)) } }
    return paths.sorted()
}
