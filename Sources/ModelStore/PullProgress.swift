import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Receives progress of a pull. Called on the pulling thread.
public protocol PullProgress: Sendable {
    /// `done` bytes of `total` (nil when unknown) are in place.
    func update(done: Int64, total: Int64?)
    /// A status line ("Downloading ... from PyPI", "Verifying ...").
    func message(_ s: String)
}

/// Progress bar on stderr: percent, MiB done/total and MiB/s. On a terminal it redraws one
/// line with `\r` (at most ~10 times a second); otherwise (logs, CI) it prints a line every 10%.
public struct TerminalProgress: PullProgress {
    private struct State {
        var startTime: Double? = nil
        var startBytes: Int64 = 0
        var lastDraw: Double = 0
        var lastDecile: Int64 = -1
        var lineOpen = false
    }
    private final class Box: Sendable { let state = Mutex(State()) }
    private let box = Box()
    private let isTTY: Bool

    public init(isTTY: Bool? = nil) {
        self.isTTY = isTTY ?? (isatty(2) == 1)
    }

    public func message(_ s: String) {
        box.state.withLock { state in
            if state.lineOpen { emit("\n"); state.lineOpen = false }
            emit(s + "\n")
            // A new phase restarts the rate measurement and the 10% steps.
            state.startTime = nil
            state.lastDecile = -1
        }
    }

    public func update(done: Int64, total: Int64?) {
        box.state.withLock { state in
            let now = monotonicSeconds()
            if state.startTime == nil { state.startTime = now; state.startBytes = done }
            let elapsed = now - state.startTime!
            let rate = elapsed > 0.2 ? Double(done - state.startBytes) / 1_048_576 / elapsed : 0
            let finished = total.map { done >= $0 } ?? false
            var line: String
            if let total, total > 0 {
                let percent = Double(done) * 100 / Double(total)
                line = "\(pad(fixed(percent, 1), 5))%  \(fixed(mib(done), 1))/\(fixed(mib(total), 1)) MiB"
            } else {
                line = "\(fixed(mib(done), 1)) MiB"
            }
            line += "  \(fixed(rate, 1)) MiB/s"
            if isTTY {
                guard finished || now - state.lastDraw >= 0.1 else { return }
                state.lastDraw = now
                emit("\r" + line + "\u{1B}[K")
                state.lineOpen = !finished
                if finished { emit("\n") }
            } else {
                let decile = total.map { $0 > 0 ? done * 10 / $0 : 0 } ?? (done / (64 << 20))
                guard decile > state.lastDecile else { return }
                state.lastDecile = decile
                emit(line + "\n")
            }
        }
    }

    private func emit(_ s: String) {
        var s = s
        s.withUTF8 { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return }
                offset += n
            }
        }
    }
}

private func mib(_ bytes: Int64) -> Double { Double(bytes) / 1_048_576 }

private func fixed(_ value: Double, _ decimals: Int) -> String {
    let scale = decimals == 0 ? 1.0 : 10.0
    let v = (value * scale).rounded() / scale
    return decimals == 0 ? String(Int(v)) : String(format1(v))
}

private func format1(_ v: Double) -> String {
    let tenths = Int((v * 10).rounded())
    return "\(tenths / 10).\(abs(tenths % 10))"
}

private func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
