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
        let outcome = produce(path) { sink in
            do throws(Failure) {
                try sink.write(bytes)
                return nil
            } catch {
                return error
            }
        }
        if let outcome { throw outcome as? Failure ?? .write(reason: "\(outcome)") }
    }

    /// A file produced piece by piece (a merged model, one tensor at a time): `body` appends to the
    /// temporary file, which is flushed and renamed over `path` only if `body` returns. An error
    /// `body` throws removes the temporary and is rethrown unchanged; the file's own steps throw
    /// `Failure`.
    public static func write(to path: String, body: (Sink) throws -> Void) throws {
        let outcome = produce(path) { sink in
            do {
                try body(sink)
                return nil
            } catch {
                return error
            }
        }
        if let outcome { throw outcome }
    }

    /// Where `write(to:body:)` puts its bytes: the temporary file, appended to in order.
    public struct Sink {
        fileprivate let fd: Int32

        public func write(_ bytes: UnsafeRawBufferPointer) throws(Failure) {
            var written = 0
            while written < bytes.count, let base = bytes.baseAddress {
                let n = Glibc.write(fd, base + written, bytes.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw .write(reason: String(cString: strerror(errno)))
                }
                written += n
            }
        }

        public func write(_ bytes: [UInt8]) throws(Failure) {
            let failure: Failure? = bytes.withUnsafeBytes { raw in
                do throws(Failure) {
                    try write(raw)
                    return nil
                } catch {
                    return error
                }
            }
            if let failure { throw failure }
        }
    }

    /// The temporary file's life: create, fill with `body`, flush, rename; removed on any failure.
    /// Returns `body`'s error or the failed step, nil when `path` now holds the new file.
    private static func produce(_ path: String, _ body: (Sink) -> (any Error)?) -> (any Error)? {
        let temporary = temporaryPath(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return Failure.create(temporary: temporary, reason: String(cString: strerror(errno))) }
        var failure = body(Sink(fd: fd))
        if failure == nil && fsync(fd) != 0 { failure = Failure.write(reason: String(cString: strerror(errno))) }
        close(fd)
        if let failure {
            unlink(temporary)
            return failure
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            return Failure.rename(temporary: temporary, reason: reason)
        }
        return nil
    }
}
