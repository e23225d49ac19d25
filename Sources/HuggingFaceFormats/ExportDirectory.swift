#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The directory an export writes its files into.
public enum ExportDirectory {
    /// Creates `path` unless it is a directory already; the reason when it cannot, else nil.
    public static func make(_ path: String) -> String? {
        var status = stat()
        if stat(path, &status) == 0 {
            return status.st_mode & S_IFMT == S_IFDIR ? nil : "\(path) exists and is not a directory"
        }
        return mkdir(path, 0o755) == 0 ? nil : "cannot create directory \(path): \(String(cString: strerror(errno)))"
    }
}
