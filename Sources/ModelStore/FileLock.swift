#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive flock(2) held until `unlock()` or deinit. flock locks belong to the open
/// file description, so two threads of one process (each opening the file) exclude each
/// other just like two processes do; the lock dies with the process, so a crashed pull
/// never leaves a stale lock behind.
final class FileLock {
    private var fd: Int32
    let path: String

    init(path: String) throws {
        self.path = path
        fd = try POSIX.open(path, O_RDWR | O_CREAT, 0o644, operation: "open lock file")
        while flock(fd, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let e = errno
            close(fd)
            throw StoreError.io(path: path, operation: "lock", errno: e)
        }
    }

    /// The lock if no one holds it now, else nil (also nil when the file cannot be opened).
    static func tryLock(path: String, create: Bool) -> FileLock? {
        let fd = Glibc.open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0o644)
        guard fd >= 0 else { return nil }
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if errno == EINTR { continue }
            close(fd)
            return nil
        }
        return FileLock(lockedDescriptor: fd, path: path)
    }

    private init(lockedDescriptor: Int32, path: String) {
        self.fd = lockedDescriptor
        self.path = path
    }

    func unlock() {
        guard fd >= 0 else { return }
        _ = flock(fd, LOCK_UN)
        close(fd)
        fd = -1
    }

    deinit { unlock() }
}
