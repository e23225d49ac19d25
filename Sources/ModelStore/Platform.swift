// Shared imports and tiny POSIX helpers for the module.
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum POSIX {
    /// open(2) retrying on EINTR; throws StoreError.io naming the path.
    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644, operation: String = "open") throws -> Int32 {
        while true {
            let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw StoreError.io(path: path, operation: operation, errno: errno)
        }
    }

    /// Writes all bytes, handling partial writes and EINTR.
    static func writeAll(_ fd: Int32, _ buffer: UnsafeRawBufferPointer, path: String) throws {
        var done = 0
        while done < buffer.count {
            let w = Glibc.write(fd, buffer.baseAddress! + done, buffer.count - done)
            if w < 0 {
                if errno == EINTR { continue }
                throw StoreError.io(path: path, operation: "write", errno: errno)
            }
            if w == 0 { throw StoreError.io(path: path, operation: "write", errno: ENOSPC) }
            done += w
        }
    }

    /// pread that retries EINTR and short reads until `count` bytes or EOF; returns bytes read.
    static func preadFull(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: Int64, path: String) throws -> Int {
        var done = 0
        while done < count {
            let r = Glibc.pread(fd, buffer + done, count - done, off_t(offset) + off_t(done))
            if r < 0 {
                if errno == EINTR { continue }
                throw StoreError.io(path: path, operation: "read", errno: errno)
            }
            if r == 0 { break }
            done += r
        }
        return done
    }

    static func fileSize(_ fd: Int32, path: String) throws -> Int64 {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw StoreError.io(path: path, operation: "stat", errno: errno) }
        return Int64(st.st_size)
    }

    static func fsync(_ fd: Int32, path: String) throws {
        while Glibc.fsync(fd) != 0 {
            if errno == EINTR { continue }
            throw StoreError.io(path: path, operation: "fsync", errno: errno)
        }
    }

    /// fsync a directory so a rename inside it is durable.
    static func fsyncDirectory(_ path: String) {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { _ = Glibc.fsync(fd); Glibc.close(fd) }
    }

    static func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else {
            throw StoreError.io(path: to, operation: "rename \(from) to", errno: errno)
        }
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    static func mkdirs(_ path: String) throws {
        var current = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            current += "/" + component
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw StoreError.io(path: current, operation: "create directory", errno: errno)
            }
        }
    }

    static func unlinkIfPresent(_ path: String) { _ = Glibc.unlink(path) }

    /// Opens (creating) `path` and takes an exclusive flock on it. If the file was unlinked or
    /// replaced while we waited for the lock (a cleanup removed a stale partial), the lock is
    /// taken again on the file now at `path`, so the caller never writes into an unlinked inode.
    static func openLockedFile(_ path: String) throws -> Int32 {
        while true {
            let fd = try open(path, O_RDWR | O_CREAT, 0o644)
            while flock(fd, LOCK_EX) != 0 {
                if errno == EINTR { continue }
                let e = errno
                Glibc.close(fd)
                throw StoreError.io(path: path, operation: "lock", errno: e)
            }
            var held = stat(), current = stat()
            if fstat(fd, &held) == 0, stat(path, &current) == 0, held.st_ino == current.st_ino, held.st_dev == current.st_dev {
                return fd
            }
            Glibc.close(fd)
        }
    }

    /// What a non-regular file is, for messages: "a directory", "a character device", ….
    static func fileKind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFREG: return "a regular file"
        case S_IFDIR: return "a directory"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFIFO: return "a named pipe"
        case S_IFSOCK: return "a socket"
        default: return "of another kind"
        }
    }

    static func env(_ name: String) -> String? {
        guard let v = getenv(name) else { return nil }
        return String(cString: v)
    }
}
