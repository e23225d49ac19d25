import LineEditing

#if canImport(Glibc)
import Glibc
#endif

enum Terminal {
    /// Unbuffered (`TerminalOutput`): streaming text appears token by token.
    static func write(_ text: String) { writeAll(1, text) }

    static func warn(_ text: String) { writeAll(2, "warning: \(text)\n") }

    static func status(_ text: String) { writeAll(2, text + "\n") }
    /// Text on stderr as it is (a progress line redrawn with \r).
    static func raw(_ text: String) { writeAll(2, text) }

    private static func writeAll(_ fd: Int32, _ text: String) { TerminalOutput.write(text, to: fd) }

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
