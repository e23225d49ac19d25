import Foundation
import Testing

@testable import ModelStore

/// A clock the test moves by hand and the lines a `TerminalProgress` wrote.
final class ProgressHarness: @unchecked Sendable {
    private let lock = NSLock()
    private var time = 0.0
    private var written = ""

    var now: Double {
        get { lock.withLock { time } }
        set { lock.withLock { time = newValue } }
    }
    var output: String { lock.withLock { written } }

    func progress(isTTY: Bool) -> TerminalProgress {
        TerminalProgress(isTTY: isTTY, clock: { self.now }, output: { text in self.lock.withLock { self.written += text } })
    }
}

@Suite struct ProgressFormatTests {
    @Test func bytes() {
        #expect(ProgressFormat.bytes(0) == "0 B")
        #expect(ProgressFormat.bytes(1023) == "1023 B")
        #expect(ProgressFormat.bytes(1024) == "1.0 KiB")
        #expect(ProgressFormat.bytes(1536) == "1.5 KiB")
        #expect(ProgressFormat.bytes(1_048_575) == "1.0 MiB", "1023.999 KiB rounds up into the next unit")
        #expect(ProgressFormat.bytes(98_362_432) == "93.8 MiB")  // 93.806 MiB
        #expect(ProgressFormat.bytes(253_113_024) == "241.4 MiB")  // 241.387 MiB
        #expect(ProgressFormat.bytes(5 << 30) == "5.0 GiB")
    }

    @Test func rate() {
        #expect(ProgressFormat.rate(bytesPerSecond: nil) == "-- B/s")
        #expect(ProgressFormat.rate(bytesPerSecond: 500) == "500 B/s")
        #expect(ProgressFormat.rate(bytesPerSecond: 12.3 * 1_048_576) == "12.3 MiB/s")
        #expect(ProgressFormat.rate(bytesPerSecond: 2_560) == "2.5 KiB/s")
        #expect(ProgressFormat.rate(bytesPerSecond: .infinity) == "-- B/s")
    }

    @Test func durationAndETA() {
        #expect(ProgressFormat.duration(seconds: 0) == "0:00")
        #expect(ProgressFormat.duration(seconds: 7) == "0:07")
        #expect(ProgressFormat.duration(seconds: 59.6) == "1:00")
        #expect(ProgressFormat.duration(seconds: 754) == "12:34")
        #expect(ProgressFormat.duration(seconds: 3723) == "1:02:03")
        #expect(ProgressFormat.duration(seconds: nil) == "--:--")
        #expect(ProgressFormat.duration(seconds: 100 * 3600) == "--:--")
        // 1000 bytes left at 250 bytes/s: 4 s.
        #expect(ProgressFormat.eta(done: 100, total: 1100, bytesPerSecond: 250) == 4)
        #expect(ProgressFormat.eta(done: 100, total: nil, bytesPerSecond: 250) == nil)
        #expect(ProgressFormat.eta(done: 100, total: 1100, bytesPerSecond: 0) == nil)
    }

    @Test func barAndPercent() {
        #expect(ProgressFormat.bar(fraction: 0, width: 10) == "[>         ]")
        #expect(ProgressFormat.bar(fraction: 0.5, width: 10) == "[=====>    ]")
        #expect(ProgressFormat.bar(fraction: 0.99, width: 10) == "[=========>]")
        #expect(ProgressFormat.bar(fraction: 1, width: 10) == "[==========]")
        #expect(ProgressFormat.bar(fraction: 7, width: 4) == "[====]")
        #expect(ProgressFormat.percent(done: 0, total: 100) == "  0%")
        #expect(ProgressFormat.percent(done: 42, total: 100) == " 42%")
        #expect(ProgressFormat.percent(done: 999, total: 1000) == " 99%", "100% only when every byte is there")
        #expect(ProgressFormat.percent(done: 1000, total: 1000) == "100%")
    }
}

@Suite struct TerminalProgressTests {
    /// 100 MiB at 5 MiB a second, one update a second: a line at every 10 %, then the summary.
    @Test func logLinesEveryTenPercent() {
        let harness = ProgressHarness()
        let progress = harness.progress(isTTY: false)
        let mib: Int64 = 1 << 20
        progress.message("Downloading x")
        for second in 0...20 {
            harness.now = Double(second)
            progress.update(done: Int64(second) * 5 * mib, total: 100 * mib)
        }
        progress.update(done: 100 * mib, total: 100 * mib)  // libcurl reports the end twice
        let lines = harness.output.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "Downloading x")
        // At 10 %: 10 MiB done after 2 s, 5 MiB/s, 90 MiB left → 18 s.
        #expect(lines[1] == " 10%  10.0 MiB / 100.0 MiB  5.0 MiB/s  ETA 0:18")
        #expect(lines[2] == " 20%  20.0 MiB / 100.0 MiB  5.0 MiB/s  ETA 0:16")
        #expect(lines[9] == " 90%  90.0 MiB / 100.0 MiB  5.0 MiB/s  ETA 0:02")
        #expect(lines[10] == "100%  100.0 MiB in 0:20, 5.0 MiB/s average")
        #expect(lines.count == 12 && lines[11].isEmpty, "\(harness.output)")
        #expect(!harness.output.contains("\r") && !harness.output.contains("\u{1B}"))
    }

    /// A slow download still says something every 10 seconds.
    @Test func logLineEveryTenSecondsWhenSlow() {
        let harness = ProgressHarness()
        let progress = harness.progress(isTTY: false)
        let total: Int64 = 100 << 20
        for second in Int64(0)...10 {
            harness.now = Double(second)
            progress.update(done: second * total / 1000, total: total)
        }
        // 1 % done after 10 s; over the last 5 s 0.1 MiB/s (102.4 KiB/s): 99 MiB left → 990 s.
        #expect(harness.output == "  1%  1.0 MiB / 100.0 MiB  102.4 KiB/s  ETA 16:30\n")
    }

    @Test func resumedPhaseCountsOnlyThisRun() {
        let harness = ProgressHarness()
        let progress = harness.progress(isTTY: false)
        let mib: Int64 = 1 << 20
        progress.update(done: 60 * mib, total: 100 * mib)  // resumed at 60 %: no line for the steps already done
        harness.now = 4
        progress.update(done: 100 * mib, total: 100 * mib)
        #expect(harness.output == "100%  100.0 MiB (40.0 MiB this run) in 0:04, 10.0 MiB/s average\n")
    }

    /// 10 MiB in sixteenths of a second: redrawn every second update (at most ten times a second).
    @Test func terminalBarRedrawsOneThrottledLine() {
        let harness = ProgressHarness()
        let progress = harness.progress(isTTY: true)
        let step: Int64 = 10 << 20 / 16
        for k in 0...16 {
            harness.now = Double(k) / 16
            progress.update(done: Int64(k) * step, total: 10 << 20)
        }
        let draws = harness.output.split(separator: "\r", omittingEmptySubsequences: true)
        #expect(draws.count == 9, "k = 0, 2, …, 14 and the final line: \(harness.output.debugDescription)")
        #expect(draws.first == "  0% [>                       ] 0 B / 10.0 MiB  -- B/s  ETA --:--\u{1B}[K")
        // Half-way after 0.5 s: 10 MiB/s, 5 MiB left → 0.5 s, shown rounded as 0:01.
        #expect(draws[4] == " 50% [============>           ] 5.0 MiB / 10.0 MiB  10.0 MiB/s  ETA 0:01\u{1B}[K")
        #expect(draws.last == "100% [========================] 10.0 MiB in 0:01, 10.0 MiB/s average\u{1B}[K\n")
    }

    @Test func messageEndsAnOpenBar() {
        let harness = ProgressHarness()
        let progress = harness.progress(isTTY: true)
        progress.update(done: 1, total: 4)
        progress.message("connection problem")
        #expect(harness.output.hasSuffix("\u{1B}[K\nconnection problem\n"), "\(harness.output.debugDescription)")
    }

    /// The default output is file descriptor 2, which the test runner shares with every test
    /// running alongside, so this case draws in a child process and reads that child's stderr.
    @Test func defaultOutputIsStandardError() async throws {
        let child = try #require(
            await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
                TerminalProgress(isTTY: false).message("hello from the progress")
            })
        #expect(String(decoding: child.standardErrorContent, as: UTF8.self) == "hello from the progress\n")
    }
}
