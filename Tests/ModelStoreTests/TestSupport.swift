import Foundation
import Testing

@testable import ModelStore

/// Fresh temporary directories for one test. Swift Testing makes a new suite instance for every
/// test, so a suite that keeps one of these in a property has its directories removed when the
/// test is over.
final class TemporaryDirectories: @unchecked Sendable {
    private let lock = NSLock()
    private var paths: [String] = []

    func make() throws -> String {
        var template = Array((NSTemporaryDirectory() + "/atelier-store-test-XXXXXX").utf8CString)
        let path = try template.withUnsafeMutableBufferPointer { buffer -> String in
            guard let p = mkdtemp(buffer.baseAddress!) else { throw NSError(domain: "mkdtemp", code: Int(errno)) }
            return String(cString: p)
        }
        lock.withLock { paths.append(path) }
        return path
    }

    deinit {
        for path in paths { try? FileManager.default.removeItem(atPath: path) }
    }
}

/// A minimal valid GGUF v3 file: no tensors, metadata general.architecture = "llama" and
/// general.file_type = 3 (Q4_1), followed by `padding` filler bytes (the tensor-data section).
func makeGGUFBlob(padding: Int = 200_000) -> [UInt8] {
    var b: [UInt8] = Array("GGUF".utf8)
    func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
    func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { b += $0 } }
    func str(_ s: String) { u64(UInt64(s.utf8.count)); b += Array(s.utf8) }
    u32(3); u64(0); u64(2)
    str("general.architecture"); u32(8); str("llama")
    str("general.file_type"); u32(4); u32(3)
    var x: UInt32 = 0x1234_5678
    for _ in 0..<padding { x = x &* 1_664_525 &+ 1_013_904_223; b.append(UInt8(truncatingIfNeeded: x >> 24)) }
    return b
}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}

func readFile(_ path: String) -> [UInt8]? {
    FileManager.default.contents(atPath: path).map { [UInt8]($0) }
}

func files(in directory: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
}

/// Expects `body` to throw a StoreError whose message contains every one of `fragments`.
func expectStoreError(
    _ fragments: [String], sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () throws -> Void
) {
    do {
        try body()
        Issue.record("expected an error containing \(fragments)", sourceLocation: sourceLocation)
    } catch let error as StoreError {
        let message = error.description
        for fragment in fragments {
            #expect(message.contains(fragment), "\"\(message)\" does not contain \"\(fragment)\"", sourceLocation: sourceLocation)
        }
    } catch {
        Issue.record("expected a StoreError, got \(error)", sourceLocation: sourceLocation)
    }
}

/// The message of the StoreError `body` throws ("" and a recorded issue when it throws none).
func errorText(sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) -> String {
    do {
        try body()
    } catch let error as StoreError {
        return error.description
    } catch {
        Issue.record("expected a StoreError, got \(error)", sourceLocation: sourceLocation)
        return ""
    }
    Issue.record("expected an error", sourceLocation: sourceLocation)
    return ""
}

/// A loopback port nothing listens on: bound, never listened on, then closed.
func refusingPort() throws -> UInt16 {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw POSIXError(.EIO) }
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard ok else { throw POSIXError(.EADDRINUSE) }
    return UInt16(bigEndian: addr.sin_port)
}

/// Records progress calls (for asserting that progress was reported).
final class RecordingProgress: PullProgress, @unchecked Sendable {
    private let lock = NSLock()
    private var _updates: [(Int64, Int64?)] = []
    private var _messages: [String] = []
    func update(done: Int64, total: Int64?) { lock.withLock { _updates.append((done, total)) } }
    func message(_ s: String) { lock.withLock { _messages.append(s) } }
    var updates: [(Int64, Int64?)] { lock.withLock { _updates } }
    var messages: [String] { lock.withLock { _messages } }
}
