#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a whole file or nothing: the bytes go to a temporary file beside `path` (`path.tmp-PID`),
/// are flushed with fsync, and the temporary is renamed over `path`. A failure at any step removes
/// the temporary and leaves an existing `path` as it was (a full disk cannot truncate a model or a
/// checkpoint). Shared by the GGUF writer and the training exports.
public enum AtomicFile {
    /// Which step failed, with the system's reason.
    public enum Failure: Error, Sendable {
        case create(temporary: String, reason: String)
        case write(reason: String)
        case rename(temporary: String, reason: String)
    }

    public static func temporaryPath(for path: String) -> String { path + ".tmp-\(getpid())" }

    public static func write(_ bytes: [UInt8], to path: String) throws(Failure) {
        let failure: Failure? = bytes.withUnsafeBytes { raw in
            do throws(Failure) {
                try write(raw, to: path)
                return nil
            } catch {
                return error
            }
        }
        if let failure { throw failure }
    }

    public static func write(_ bytes: UnsafeRawBufferPointer, to path: String) throws(Failure) {
        let temporary = temporaryPath(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .create(temporary: temporary, reason: String(cString: strerror(errno))) }
        var written = 0
        var failure: String?
        while written < bytes.count, let base = bytes.baseAddress {
            let n = Glibc.write(fd, base + written, bytes.count - written)
            if n < 0 {
                if errno == EINTR { continue }
                failure = String(cString: strerror(errno))
                break
            }
            written += n
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        close(fd)
        if let failure {
            unlink(temporary)
            throw .write(reason: failure)
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw .rename(temporary: temporary, reason: reason)
        }
    }
}
