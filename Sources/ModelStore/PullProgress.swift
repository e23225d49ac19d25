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

/// Progress on stderr. On a terminal: one line redrawn with `\r` at most ten times a second —
/// percentage, bar, bytes done/total, rate over the last seconds and time left — ending with the
/// total time and average rate. Elsewhere (logs, CI): plain lines, one per 10 % (or 64 MiB when the
/// size is unknown) and at least one every 10 seconds, with no `\r` or escape codes.
public struct TerminalProgress: PullProgress {
    private final class Box: Sendable { let state = Mutex(ProgressState()) }
    private let box = Box()
    private let isTTY: Bool
    private let clock: @Sendable () -> Double
    private let output: @Sendable (String) -> Void

    /// `clock` (seconds, monotonic) and `output` are replaceable so tests can drive time and read lines.
    public init(
        isTTY: Bool? = nil, clock: @escaping @Sendable () -> Double = TerminalProgress.monotonicClock,
        output: @escaping @Sendable (String) -> Void = TerminalProgress.standardError
    ) {
        self.isTTY = isTTY ?? (isatty(2) == 1)
        self.clock = clock
        self.output = output
    }

    public func message(_ s: String) {
        box.state.withLock { state in
            if state.lineOpen { output("\n") }
            output(s + "\n")
            state = ProgressState()  // a new phase restarts the rate, the steps and the clock
        }
    }

    public func update(done: Int64, total: Int64?) {
        let now = clock()
        box.state.withLock { state in
            guard
                let line = isTTY
                    ? state.terminalLine(done: done, total: total, now: now) : state.logLine(done: done, total: total, now: now)
            else { return }
            output(line)
        }
    }
}

/// One phase of a pull (a download, a copy): when it started and what has been shown.
struct ProgressState {
    static let redrawInterval = 0.1
    static let logInterval = 10.0
    static let rateWindow = 5.0
    static let barWidth = 24

    var start: (time: Double, bytes: Int64)? = nil
    var samples: [(time: Double, bytes: Int64)] = []
    var lastDraw = -Double.infinity
    var lastLog = -Double.infinity
    var lastStep: Int64 = 0
    var lineOpen = false
    var finished = false

    /// The text to write for a terminal, or nil when nothing should be redrawn yet.
    mutating func terminalLine(done: Int64, total: Int64?, now: Double) -> String? {
        guard record(done: done, now: now) else { return nil }
        if let total, total > 0, done >= total {
            finished = true
            lineOpen = false
            let bar = ProgressFormat.percent(done: done, total: total) + " " + ProgressFormat.bar(fraction: 1, width: Self.barWidth)
            return "\r" + bar + " " + summary(done: done, now: now) + "\u{1B}[K\n"
        }
        guard now - lastDraw >= Self.redrawInterval else { return nil }
        lastDraw = now
        lineOpen = true
        let rate = recentRate(now: now)
        var line: String
        if let total, total > 0 {
            line =
                ProgressFormat.percent(done: done, total: total) + " "
                + ProgressFormat.bar(fraction: Double(done) / Double(total), width: Self.barWidth) + " "
                + ProgressFormat.bytes(done) + " / " + ProgressFormat.bytes(total) + "  "
                + ProgressFormat.rate(bytesPerSecond: rate) + "  ETA "
                + ProgressFormat.duration(seconds: ProgressFormat.eta(done: done, total: total, bytesPerSecond: rate))
        } else {
            line = ProgressFormat.bytes(done) + "  " + ProgressFormat.rate(bytesPerSecond: rate)
        }
        return "\r" + line + "\u{1B}[K"
    }

    /// A whole line for a log, or nil between steps.
    mutating func logLine(done: Int64, total: Int64?, now: Double) -> String? {
        let first = start == nil
        guard record(done: done, now: now) else { return nil }
        if let total, total > 0, done >= total {
            finished = true
            return ProgressFormat.percent(done: done, total: total) + "  " + summary(done: done, now: now) + "\n"
        }
        let step = total.map { $0 > 0 ? done * 10 / $0 : 0 } ?? done / (64 << 20)
        if first {
            // A phase that starts part-way (a resumed download) prints from its next step on.
            lastStep = step
            lastLog = now
            return nil
        }
        guard step > lastStep || now - lastLog >= Self.logInterval else { return nil }
        lastStep = max(step, lastStep)
        lastLog = now
        let rate = recentRate(now: now)
        if let total, total > 0 {
            return ProgressFormat.percent(done: done, total: total) + "  " + ProgressFormat.bytes(done) + " / "
                + ProgressFormat.bytes(total) + "  " + ProgressFormat.rate(bytesPerSecond: rate) + "  ETA "
                + ProgressFormat.duration(seconds: ProgressFormat.eta(done: done, total: total, bytesPerSecond: rate)) + "\n"
        }
        return ProgressFormat.bytes(done) + "  " + ProgressFormat.rate(bytesPerSecond: rate) + "\n"
    }

    /// Notes a sample; false once the phase has finished (libcurl reports the end more than once).
    private mutating func record(done: Int64, now: Double) -> Bool {
        if finished { return false }
        if start == nil { start = (now, done) }
        samples.append((now, done))
        // Keep one sample older than the window so the rate always spans it.
        while samples.count > 2 && now - samples[1].time >= Self.rateWindow { samples.removeFirst() }
        return true
    }

    /// Bytes per second over the last few seconds; nil until a quarter of a second has been seen.
    func recentRate(now: Double) -> Double? {
        guard let oldest = samples.first, let newest = samples.last, newest.time - oldest.time >= 0.25 else { return nil }
        return Double(newest.bytes - oldest.bytes) / (newest.time - oldest.time)
    }

    /// "241.4 MiB in 0:19 (12.7 MiB/s)": this phase's bytes, time and average rate.
    private func summary(done: Int64, now: Double) -> String {
        let began = start ?? (now, done)
        let elapsed = now - began.time
        let moved = done - began.bytes
        let average = elapsed > 0 ? Double(moved) / elapsed : nil
        let resumed = began.bytes > 0 ? " (\(ProgressFormat.bytes(moved)) this run)" : ""
        return ProgressFormat.bytes(done) + resumed + " in " + ProgressFormat.duration(seconds: elapsed) + ", "
            + ProgressFormat.rate(bytesPerSecond: average) + " average"
    }
}

extension TerminalProgress {
    public static func monotonicClock() -> Double { monotonicSeconds() }

    /// Writes all of `text` to file descriptor 2, retrying on EINTR.
    public static func standardError(_ text: String) { writeAll(2, text) }
}

func writeAll(_ fd: Int32, _ text: String) {
    var text = text
    text.withUTF8 { buffer in
        guard let base = buffer.baseAddress else { return }
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, base + offset, buffer.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
