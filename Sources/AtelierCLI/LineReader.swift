#if canImport(Glibc)
import Glibc
#endif

/// Lines from standard input read with `read(2)`, so that Ctrl-C at the prompt (EINTR) is seen
/// instead of being retried; the terminal's own line editing (backspace, Ctrl-U) still works.
struct LineReader {
    enum Input: Equatable {
        case line(String)
        case interrupted
        case endOfInput
    }

    private var pending: [UInt8] = []
    private var reachedEnd = false
    private let fd: Int32

    init(fd: Int32 = 0) { self.fd = fd }

    mutating func nextLine() -> Input {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeFirst(newline + 1)
                return .line(line)
            }
            if reachedEnd {
                guard !pending.isEmpty else { return .endOfInput }
                defer { pending.removeAll() }
                return .line(String(decoding: pending, as: UTF8.self))
            }
            switch fill() {
            case .interrupted:
                pending.removeAll()
                return .interrupted
            case .read: continue
            }
        }
    }

    /// Everything left on the input, for `echo "question" | atelier chat`.
    mutating func readAll() -> String {
        while !reachedEnd { _ = fill() }
        defer { pending.removeAll() }
        return String(decoding: pending, as: UTF8.self)
    }

    private enum FillResult { case read, interrupted }

    private mutating func fill() -> FillResult {
        var chunk = [UInt8](repeating: 0, count: 4096)
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n > 0 {
            pending += chunk[..<n]
        } else if n == 0 {
            reachedEnd = true
        } else if errno == EINTR {
            if Interrupts.take() { return .interrupted }
        } else {
            reachedEnd = true
        }
        return .read
    }
}
