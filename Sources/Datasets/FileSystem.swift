#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few POSIX calls the data sets need, each turning a failure into a `DatasetError.io` that
/// names the path.
enum FileSystem {
    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            if errno == ENOENT { throw DatasetError.fileNotFound(path) }
            throw DatasetError.io(path: path, operation: "open", errno: errno)
        }
    }

    /// Reads up to `count` bytes at `offset`, retrying short reads; fewer only at the end of the file.
    static func readFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, at offset: Int64, path: String) throws -> Int {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw DatasetError.io(path: path, operation: "read", errno: errno)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < bytes.count {
            let n = write(fd, bytes.baseAddress! + done, bytes.count - done)
            if n < 0 {
                if errno == EINTR { continue }
                throw DatasetError.io(path: path, operation: "write", errno: errno)
            }
            done += n
        }
    }

    /// Writes `bytes` to a new file at `path` and flushes it to disk.
    static func writeFile(_ path: String, _ bytes: [UInt8]) throws {
        let fd = try open(path, O_WRONLY | O_CREAT | O_TRUNC)
        defer { close(fd) }
        try bytes.withUnsafeBytes { try writeAll(fd, $0, path: path) }
        guard fsync(fd) == 0 else { throw DatasetError.io(path: path, operation: "flush", errno: errno) }
    }

    static func readFile(_ path: String, limit: Int) throws -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        let size = try status(fd, path: path).size
        guard size <= Int64(limit) else { throw DatasetError.fileTooLarge(path: path, bytes: size, limit: Int64(limit)) }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let n = try bytes.withUnsafeMutableBytes { try readFully(fd, $0.baseAddress!, Int(size), at: 0, path: path) }
        return Array(bytes[..<n])
    }

    struct Status {
        let size: Int64
        let isRegular: Bool
        let kind: String
    }

    static func status(_ fd: Int32, path: String) throws -> Status {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw DatasetError.io(path: path, operation: "inspect", errno: errno) }
        return Status(size: Int64(st.st_size), isRegular: (st.st_mode & S_IFMT) == S_IFREG, kind: kind(st.st_mode))
    }

    static func size(of path: String) -> Int64? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return Int64(st.st_size)
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    static func mkdirs(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw DatasetError.io(path: current, operation: "create directory", errno: errno)
            }
        }
    }

    static func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw DatasetError.io(path: to, operation: "rename \(from) to", errno: errno) }
    }

    static func fsyncDirectory(_ path: String) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    /// Removes a directory tree this module wrote (regular files and directories only; symbolic
    /// links are unlinked, never followed). Failures are ignored: what is left goes next time.
    static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            if let directory = opendir(path) {
                var names: [String] = []
                while let entry = readdir(directory) {
                    let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                    if name != "." && name != ".." { names.append(name) }
                }
                closedir(directory)
                for name in names { removeTree(path + "/" + name) }
            }
            _ = rmdir(path)
        } else {
            _ = unlink(path)
        }
    }

    static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a named pipe"
        case S_IFSOCK: return "a socket"
        case S_IFLNK: return "a symbolic link"
        default: return "not a regular file"
        }
    }
}

/// An exclusive flock(2) on a file, held until `unlock()` or deinit; it dies with the process, so
/// an interrupted fetch never leaves a stale lock.
final class DirectoryLock {
    private var fd: Int32

    init(path: String) throws {
        fd = try FileSystem.open(path, O_RDWR | O_CREAT)
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let code = errno
            close(fd)
            throw DatasetError.io(path: path, operation: "lock", errno: code)
        }
    }

    func unlock() {
        guard fd >= 0 else { return }
        _ = flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { unlock() }
}
