#if canImport(Glibc)
import Glibc
#endif

enum Terminal {
    /// Unbuffered writes to the file descriptors: streaming text appears token by token, and
    /// nothing touches C's global `FILE*` streams (not concurrency-safe in Swift 6).
    static func write(_ text: String) { writeAll(1, text) }

    static func warn(_ text: String) { writeAll(2, "warning: \(text)\n") }

    static func status(_ text: String) { writeAll(2, text + "\n") }

    private static func writeAll(_ fd: Int32, _ text: String) {
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return
            }
            bytes = bytes.dropFirst(n)
        }
    }

    /// Peak resident set size of this process (VmHWM), in bytes.
    static func peakResidentBytes() -> Int64? {
        guard let file = fopen("/proc/self/status", "r") else { return nil }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 256)
        while fgets(&line, Int32(line.count), file) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if text.hasPrefix("VmHWM:") {
                // "VmHWM:   123456 kB"
                return Int64(String(text.filter(\.isNumber))).map { $0 * 1024 }
            }
        }
        return nil
    }
}
