import Dispatch
import Foundation
import ModelStore
import Synchronization
import Threading

/// What `atelier sql` draws on stderr while a statement runs longer than a second on a terminal:
/// a spinner, the elapsed time and a bar of the pool's current parallel step (the chunks of a CSV
/// file being parsed, the batches of a scan or join, the partitions of a merge). The step's
/// morsels are the finest progress the engine knows without costing the query anything; the bar
/// restarts with each step, and the clock says how long the whole statement has run.
final class QueryProgressLine: Sendable {
    private let stopping = Atomic<Bool>(false)
    private let exited = DispatchSemaphore(value: 0)
    static let delay = 1.0
    static let frames = Array("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")

    /// Whether stderr is a terminal that can redraw a line.
    static var isAvailable: Bool {
        isatty(2) != 0 && (getenv("TERM").map { String(cString: $0) != "dumb" } ?? false)
    }

    /// `body()`, with the line drawn while it runs past `delay` and erased before it returns.
    static func around<T, Failure: Error>(_ pool: ThreadPool, _ body: () throws(Failure) -> T) throws(Failure) -> T {
        guard isAvailable else { return try body() }
        let line = QueryProgressLine()
        let thread = Thread { line.draw(pool, from: TerminalProgress.monotonicClock()) }
        thread.start()
        defer { line.stop() }
        return try body()
    }

    private func draw(_ pool: ThreadPool, from start: Double) {
        var drawn = false
        var frame = 0
        while !stopping.load(ordering: .relaxed) {
            usleep(100_000)
            let elapsed = TerminalProgress.monotonicClock() - start
            guard elapsed >= Self.delay, !stopping.load(ordering: .relaxed) else { continue }
            Terminal.raw("\r" + Self.render(pool.activity.progress, elapsed: elapsed, frame: frame) + "\u{1B}[K")
            drawn = true
            frame += 1
        }
        if drawn { Terminal.raw("\r\u{1B}[K") }
        exited.signal()
    }

    private func stop() {
        stopping.store(true, ordering: .relaxed)
        exited.wait()
    }

    /// "⠹ 2.4 s ▕██████▌       ▏ 3/8" (the bar and count only while a step with several morsels runs).
    static func render(_ progress: (done: Int, total: Int), elapsed: Double, frame: Int, width: Int = 20) -> String {
        var text = "\(frames[frame % frames.count]) \(String(format: "%.1f", elapsed)) s"
        guard progress.total > 1 else { return text }
        let done = min(progress.done, progress.total)
        let eighths = done * width * 8 / progress.total
        let partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8]
        let bar = String(repeating: "█", count: eighths / 8) + partial
        text += " ▕" + bar + String(repeating: " ", count: width - eighths / 8 - (partial.isEmpty ? 0 : 1)) + "▏ \(done)/\(progress.total)"
        return text
    }
}
