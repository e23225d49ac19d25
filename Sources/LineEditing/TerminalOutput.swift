#if canImport(Glibc)
import Glibc
#endif

/// Text written straight to a file descriptor, all of it (retrying short writes and EINTR): no
/// buffering, so streamed text appears as it comes, and no C `FILE*` streams (not concurrency-safe in
/// Swift 6). The CLI's own output and the line editor both write through this.
public enum TerminalOutput {
    public static func write(_ text: String, to fd: Int32) {
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
}
