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

/// What interrupted pulls leave in `partial/`, and when it goes.
///
/// - `<sha256 of URL>.part` (+ `.part.url`, the URL it belongs to): an HTTP download a re-run
///   resumes. Kept while a downloader holds its flock, and for `resumableDownloadLifetime` after its
///   last write; older ones go.
/// - `<name>.copy.tmp`, `<name>.pypi.tmp`, `<name>.json.tmp`, `pip-<name>/`: written only while a
///   pull holds `locks/<name>.lock`, and never resumed. When that lock is free, the writer is dead
///   (flock dies with its process), so they go.
extension ModelStore {
    static let resumableDownloadLifetime: Double = 7 * 24 * 3600
    static let perNameSuffixes = [".copy.tmp", ".pypi.tmp", ".json.tmp"]
    static let resumableSuffix = ".part"
    static let urlSidecarSuffix = ".part.url"

    /// Removes stale partials; any failure (a read-only store, a race with another cleaner) just
    /// leaves the file for next time. Returns the names of the entries removed.
    @discardableResult
    func cleanStalePartials() -> [String] {
        guard POSIX.exists(partialDirectory), let entries = try? FileManager.default.contentsOfDirectory(atPath: partialDirectory) else {
            return []
        }
        var removed: [String] = []
        let now = Double(time(nil))
        for entry in entries.sorted() {
            let path = partialDirectory + "/" + entry
            if entry.hasSuffix(Self.urlSidecarSuffix) {
                if !POSIX.exists(String(path.dropLast(4))) && unlink(path) == 0 { removed.append(entry) }
            } else if entry.hasSuffix(Self.resumableSuffix) {
                if removeResumableIfStale(path, now: now) {
                    removed.append(entry)
                    POSIX.unlinkIfPresent(path + ".url")
                }
            } else if let name = Self.ownerName(of: entry), (try? ModelStore.validateName(name)) != nil {
                guard let lock = FileLock.tryLock(path: locksDirectory + "/" + name + ".lock", create: true) else { continue }
                defer { lock.unlock() }
                if (try? FileManager.default.removeItem(atPath: path)) != nil { removed.append(entry) }
            }
        }
        return removed
    }

    /// The model name a per-name temporary belongs to, or nil for anything else.
    static func ownerName(of entry: String) -> String? {
        for suffix in perNameSuffixes where entry.hasSuffix(suffix) { return String(entry.dropLast(suffix.count)) }
        if entry.hasPrefix("pip-") { return String(entry.dropFirst(4)) }
        return nil
    }

    /// Unlinks `path` if no downloader holds it and it was last written more than the lifetime ago.
    /// The unlink happens under the file's own lock; a downloader that opened the file meanwhile
    /// notices (`POSIX.openLockedFile`) and starts a new one.
    private func removeResumableIfStale(_ path: String, now: Double) -> Bool {
        guard let lock = FileLock.tryLock(path: path, create: false) else { return false }
        defer { lock.unlock() }
        var st = stat()
        guard stat(path, &st) == 0, now - Double(st.st_mtim.tv_sec) > Self.resumableDownloadLifetime else { return false }
        return unlink(path) == 0
    }

    /// Records which URL a resumable partial belongs to (for people looking in `partial/`).
    func writeURLSidecar(for partial: String, url: String) {
        let path = partial + ".url"
        guard !POSIX.exists(path) else { return }
        try? writeFileDurably(path, Data((url + "\n").utf8))
    }
}
