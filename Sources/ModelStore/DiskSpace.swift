#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum DiskSpace {
    /// Bytes available to an unprivileged user on the filesystem holding `path` (statvfs).
    public static func availableBytes(at path: String) throws -> Int64 {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else {
            throw StoreError.io(path: path, operation: "query free space of", errno: errno)
        }
        return Int64(s.f_bavail) * Int64(s.f_frsize)
    }

    /// Throws `insufficientSpace` when fewer than `needed` bytes are free at `path`.
    static func ensure(_ needed: Int64, at path: String, freeBytes: (String) throws -> Int64) throws {
        guard needed > 0 else { return }
        let free = try freeBytes(path)
        if free < needed { throw StoreError.insufficientSpace(path: path, needed: needed, free: free) }
    }
}
