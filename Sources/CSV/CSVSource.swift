import Compression
import Glibc
import Threading

/// The bytes of one CSV file in memory: read whole, and inflated when it is gzip (by magic number,
/// whatever its name). `padding` zero bytes follow them, so the parser may read whole 64-byte
/// blocks that overhang the end.
final class CSVBytes: @unchecked Sendable {
    // @unchecked: read-only after init.
    static let padding = FieldEndScanner.blockBytes
    let path: String
    let base: UnsafeRawPointer?
    let count: Int
    private let owned: UnsafeMutableRawPointer?
    private let mapping: (base: UnsafeMutableRawPointer, length: Int)?

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
            (base, count, owned, mapping) = (nil, 0, nil, nil)
            return
        }
        // Mapped, as GGUF models are, when the file is not gzip: its pages are the page cache's,
        // so nothing is copied and no fresh memory is faulted in — a copy's page faults were most
        // of a read's cost (docs/BENCHMARKS.md, session 16: median 0.96 s mapped against 1.03 s
        // read, alternating, on the 500 MB benchmark file). The price, which Polars and ripgrep pay:
        // a file another process truncates while it is parsed ends the process with SIGBUS.
        // Compressed files and files that cannot be mapped are read into memory instead.
        if let mapped = CSVBytes.map(descriptor, size: size) {
            if !CSVBytes.isGzip(UnsafeRawPointer(mapped.base), size) {
                (base, count, owned, mapping) = (UnsafeRawPointer(mapped.base), size, nil, mapped)
                return
            }
            munmap(mapped.base, mapped.length)
        }
        let data = UnsafeMutableRawPointer.allocate(byteCount: size + CSVBytes.padding, alignment: 64)
        (data + size).initializeMemory(as: UInt8.self, repeating: 0, count: CSVBytes.padding)
        // The workers read pieces of the file side by side.
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
        if CSVBytes.isGzip(UnsafeRawPointer(data), size) {
            defer { data.deallocate() }
            let (buffer, length) = try CSVBytes.inflate(
                path: path, UnsafeRawBufferPointer(start: data, count: size), limit: maximumDecompressed)
            (base, count, owned, mapping) = (UnsafeRawPointer(buffer), length, buffer, nil)
        } else {
            (base, count, owned, mapping) = (UnsafeRawPointer(data), size, data, nil)
        }
    }

    deinit {
        owned?.deallocate()
        if let mapping { munmap(mapping.base, mapping.length) }
    }

    /// The file mapped read-only, followed by at least `padding` readable zero bytes: an anonymous
    /// region is reserved first and the file mapped over its start, so the bytes past the file's
    /// last page are the region's zeros rather than a fault.
    static func map(_ descriptor: Int32, size: Int) -> (base: UnsafeMutableRawPointer, length: Int)? {
        let page = max(4096, Int(sysconf(Int32(_SC_PAGESIZE))))
        let length = (size + padding + page - 1) / page * page
        guard let region = mmap(nil, length, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), region != MAP_FAILED else {
            return nil
        }
        guard let file = mmap(region, size, PROT_READ, MAP_PRIVATE | MAP_FIXED | MAP_POPULATE, descriptor, 0), file == region else {
            munmap(region, length)
            return nil
        }
        return (region, length)
    }

    static func isGzip(_ p: UnsafeRawPointer, _ size: Int) -> Bool {
        size >= 2 && p.load(as: UInt8.self) == 0x1f && p.load(fromByteOffset: 1, as: UInt8.self) == 0x8b
    }

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
        var buffer = UnsafeMutableRawPointer.allocate(byteCount: capacity + padding, alignment: 64)
        var length = 0
        do {
            while true {
                if length == capacity {
                    guard capacity < limit else {
                        buffer.deallocate()
                        throw CSVError("\(path): decompresses to more than \(limit) bytes (the limit)")
                    }
                    let larger = UnsafeMutableRawPointer.allocate(byteCount: min(limit, capacity * 2) + padding, alignment: 64)
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
        (buffer + length).initializeMemory(as: UInt8.self, repeating: 0, count: padding)
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
