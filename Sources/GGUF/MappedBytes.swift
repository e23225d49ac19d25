#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Read-only bytes that stay valid for the object's lifetime: a private read-only memory map
/// of a file, or an owned heap copy for in-memory data.
final class MappedBytes: @unchecked Sendable {
    // Sendable: the bytes are never written after init and are released only in deinit.
    let buffer: UnsafeRawBufferPointer
    private let isMapped: Bool

    init(path: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw MappedBytes.openError(path, "cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw MappedBytes.openError(path, "cannot stat: \(String(cString: strerror(errno)))") }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw MappedBytes.openError(path, "not a regular file") }
        let size = Int(info.st_size)
        if size == 0 {
            buffer = UnsafeRawBufferPointer(start: nil, count: 0)
            isMapped = false
            return
        }
        guard let base = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), base != UnsafeMutableRawPointer(bitPattern: -1) else {
            throw MappedBytes.openError(path, "cannot memory-map \(size) bytes: \(String(cString: strerror(errno)))")
        }
        buffer = UnsafeRawBufferPointer(start: base, count: size)
        isMapped = true
    }

    init(copying bytes: some Collection<UInt8>) {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        _ = storage.initializeMemory(as: UInt8.self, from: bytes)
        buffer = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(storage)[0..<bytes.count])
        isMapped = false
    }

    func releaseResidentPages() {
        guard isMapped, let base = buffer.baseAddress else { return }
        madvise(UnsafeMutableRawPointer(mutating: base), buffer.count, Int32(MADV_DONTNEED))
    }

    deinit {
        guard let base = buffer.baseAddress else { return }
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), buffer.count)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }

    private static func openError(_ path: String, _ message: String) -> GGUFError {
        GGUFError(.cannotOpen, source: path, field: "file", value: message, offset: 0, expected: "a readable GGUF file")
    }
}
