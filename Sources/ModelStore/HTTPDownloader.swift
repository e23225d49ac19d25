import CHTTP

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Retry behaviour of HTTP downloads.
public struct DownloadPolicy: Sendable {
    /// Consecutive failed attempts (no new bytes) before giving up.
    public var maxAttempts: Int
    /// Delay before retry n is `min(baseDelay * n, 5 s)`.
    public var baseDelay: Double

    public init(maxAttempts: Int = 8, baseDelay: Double = 0.5) {
        self.maxAttempts = maxAttempts
        self.baseDelay = baseDelay
    }
    public static let `default` = DownloadPolicy()
}

/// Resumable HTTP(S) download into a partial file, through libcurl (CHTTP).
struct HTTPDownloader {
    let url: String
    let policy: DownloadPolicy
    /// One extra request header line ("Authorization: Bearer …"), or nil.
    var header: String? = nil

    struct Head { let status: Int; let contentLength: Int64?; let acceptsRanges: Bool }

    func head() throws -> Head {
        var status = 0, length: Int64 = -1, ranges: Int32 = 0
        var lastError = ""
        for attempt in 1...max(1, min(policy.maxAttempts, 3)) {
            var err = [CChar](repeating: 0, count: 512)
            let rc = atl_http_head(url, header, &status, &length, &ranges, &err, err.count)
            lastError = cString(err)
            switch Int(rc) {
            case Int(ATL_HTTP_OK):
                return Head(status: status, contentLength: length >= 0 ? length : nil, acceptsRanges: ranges != 0)
            case Int(ATL_HTTP_NO_LIBCURL):
                throw StoreError.noLibcurl(lastError)
            case Int(ATL_HTTP_BAD_STATUS):
                // Some servers refuse HEAD (405/501) but serve GET: carry on without a size.
                if status == 405 || status == 501 { return Head(status: status, contentLength: nil, acceptsRanges: false) }
                throw StoreError.httpStatus(url: url, status: status)
            default:
                if attempt < min(policy.maxAttempts, 3) { sleepSeconds(min(policy.baseDelay * Double(attempt), 5)) }
            }
        }
        throw StoreError.network(url: url, attempts: min(policy.maxAttempts, 3), detail: lastError, keptBytes: 0)
    }

    /// Downloads into `partialPath`, resuming from its current size. Returns the final size.
    /// The caller holds the store lock; the partial file is also flocked so two pulls of the
    /// same URL under different names cannot interleave writes.
    func download(to partialPath: String, expectedSize: Int64?, progress: (any PullProgress)?) throws -> Int64 {
        let fd = try POSIX.openLockedFile(partialPath)
        defer { close(fd) }

        let reporter = ProgressBox(progress)
        var failures = 0
        var lastError = ""
        while true {
            var offset = try POSIX.fileSize(fd, path: partialPath)
            if let expectedSize, offset > expectedSize {
                try truncate(fd, partialPath); offset = 0  // stale partial of another version
            }
            if let expectedSize, offset == expectedSize { break }

            var status = 0, written: Int64 = 0
            var err = [CChar](repeating: 0, count: 512)
            let rc = withExtendedLifetime(reporter) {
                atl_http_get(
                    url, header, fd, offset, &status, &written,
                    reporter.progress == nil ? nil : progressTrampoline,
                    Unmanaged.passUnretained(reporter).toOpaque(), &err, err.count)
            }
            let writeErrno = errno
            lastError = cString(err)
            switch Int(rc) {
            case Int(ATL_HTTP_OK):
                let size = offset + written
                if let expectedSize, size != expectedSize {
                    lastError = "connection closed at byte \(size) of \(expectedSize)"
                    break  // retried below as a dropped connection
                }
                try POSIX.fsync(fd, path: partialPath)
                return size
            case Int(ATL_HTTP_NO_LIBCURL):
                throw StoreError.noLibcurl(lastError)
            case Int(ATL_HTTP_RANGE_IGNORED):
                // Server ignored "Range: bytes=N-": start over from byte 0.
                try truncate(fd, partialPath)
            case Int(ATL_HTTP_BAD_STATUS):
                if status == 416 && offset > 0 {
                    try truncate(fd, partialPath)  // partial no longer matches the resource
                } else if status >= 500 {
                    lastError = "HTTP status \(status)"  // transient server error: retry
                } else {
                    throw StoreError.httpStatus(url: url, status: status)
                }
            case Int(ATL_HTTP_WRITE_FAILED):
                throw StoreError.io(path: partialPath, operation: "write", errno: writeErrno != 0 ? writeErrno : EIO)
            case Int(ATL_HTTP_ABORTED):
                throw StoreError.cancelled("download of \(url)")
            default:
                break  // transport error: retry
            }
            if written > 0 { failures = 0 } else { failures += 1 }
            if failures >= policy.maxAttempts {
                let kept = (try? POSIX.fileSize(fd, path: partialPath)) ?? 0
                // An empty partial resumes nothing: it goes, and the message does not promise a resume.
                if kept == 0 { POSIX.unlinkIfPresent(partialPath) }
                throw StoreError.network(url: url, attempts: failures, detail: lastError, keptBytes: kept)
            }
            if written == 0 || rc != ATL_HTTP_OK {
                progress?.message("  connection problem (\(lastError)); retrying…")
                sleepSeconds(min(policy.baseDelay * Double(max(failures, 1)), 5))
            }
        }
        try POSIX.fsync(fd, path: partialPath)
        return try POSIX.fileSize(fd, path: partialPath)
    }

    private func truncate(_ fd: Int32, _ path: String) throws {
        guard ftruncate(fd, 0) == 0 else { throw StoreError.io(path: path, operation: "truncate", errno: errno) }
    }
}

/// Carries the Swift progress reporter through the C callback's context pointer.
private final class ProgressBox {
    let progress: (any PullProgress)?
    var lastReport: Double = 0
    init(_ progress: (any PullProgress)?) { self.progress = progress }
}

private let progressTrampoline: atl_progress_fn = { ctx, now, total in
    guard let ctx else { return 0 }
    let box = Unmanaged<ProgressBox>.fromOpaque(ctx).takeUnretainedValue()
    let t = monotonicSeconds()
    // libcurl calls this very often; forward at most ~20 times a second, plus completion.
    if t - box.lastReport >= 0.05 || (total > 0 && now >= total) {
        box.lastReport = t
        box.progress?.update(done: now, total: total > 0 ? total : nil)
    }
    return 0
}

/// Text of a NUL-terminated C buffer.
func cString(_ buffer: [CChar]) -> String {
    let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    return String(decoding: bytes, as: UTF8.self)
}

func sleepSeconds(_ seconds: Double) {
    guard seconds > 0 else { return }
    var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
    var remaining = timespec()
    while nanosleep(&ts, &remaining) != 0 && errno == EINTR { ts = remaining }
}
