import Foundation
import Testing

@testable import ModelStore

/// The progress bar writes to file descriptor 2, which the test runner shares with every test
/// running alongside; each case therefore draws in a child process and reads that child's stderr.
@Suite struct TerminalProgressTests {
    @Test func nonTTYPrintsALineEveryTenPercent() async throws {
        let child = try #require(
            await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
                let progress = TerminalProgress(isTTY: false)
                let total: Int64 = 100 << 20
                progress.message("Downloading x")
                for step in 0...200 { progress.update(done: total * Int64(step) / 200, total: total) }
            })
        let output = String(decoding: child.standardErrorContent, as: UTF8.self)
        let lines = output.split(separator: "\n")
        #expect(lines.first == "Downloading x")
        #expect(lines.count == 1 + 11, "\(output)")  // 0%, 10%, ..., 100%
        #expect(lines.last?.contains("100.0%  100.0/100.0 MiB") ?? false, "\(output)")
        #expect(lines.last?.contains("MiB/s") ?? false, "\(output)")
        #expect(!output.contains("\r"))
    }

    @Test func ttyRedrawsOneLine() async throws {
        let child = try #require(
            await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
                let progress = TerminalProgress(isTTY: true)
                progress.update(done: 0, total: 1 << 20)
                progress.update(done: 1 << 20, total: 1 << 20)
            })
        let output = String(decoding: child.standardErrorContent, as: UTF8.self)
        #expect(output.hasPrefix("\r"), "\(output)")
        #expect(output.hasSuffix("\n"), "the finished bar ends its line")
        #expect(output.contains("100.0%  1.0/1.0 MiB"), "\(output)")
    }
}
