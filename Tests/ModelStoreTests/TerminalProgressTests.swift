import Foundation
import XCTest
@testable import ModelStore

final class TerminalProgressTests: XCTestCase {
    /// Runs `body` with stderr redirected to a file and returns what was written.
    func captureStderr(_ body: () -> Void) throws -> String {
        let path = try makeTempDirectory(self) + "/stderr.txt"
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        let saved = dup(2)
        dup2(fd, 2)
        body()
        dup2(saved, 2)
        close(saved); close(fd)
        return String(decoding: readFile(path) ?? [], as: UTF8.self)
    }

    func testNonTTYPrintsALineEveryTenPercent() throws {
        let progress = TerminalProgress(isTTY: false)
        let total: Int64 = 100 << 20
        let output = try captureStderr {
            progress.message("Downloading x")
            for step in 0...200 { progress.update(done: total * Int64(step) / 200, total: total) }
        }
        let lines = output.split(separator: "\n")
        XCTAssertEqual(lines.first, "Downloading x")
        XCTAssertEqual(lines.count, 1 + 11, output)   // 0%, 10%, ..., 100%
        XCTAssertTrue(lines.last?.contains("100.0%  100.0/100.0 MiB") ?? false, output)
        XCTAssertTrue(lines.last?.contains("MiB/s") ?? false, output)
        XCTAssertFalse(output.contains("\r"))
    }

    func testTTYRedrawsOneLine() throws {
        let progress = TerminalProgress(isTTY: true)
        let output = try captureStderr {
            progress.update(done: 0, total: 1 << 20)
            progress.update(done: 1 << 20, total: 1 << 20)
        }
        XCTAssertTrue(output.hasPrefix("\r"), output)
        XCTAssertTrue(output.hasSuffix("\n"), "the finished bar ends its line")
        XCTAssertTrue(output.contains("100.0%  1.0/1.0 MiB"), output)
    }
}
