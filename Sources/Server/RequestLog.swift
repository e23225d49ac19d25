import Hummingbird
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One line per request on stderr — method, path, status, prompt and completion tokens when
/// known, milliseconds from the request's head to its response's end — unless --quiet.
/// A streamed answer's line is written when its stream ends.
final class RequestLog: Sendable {
    @TaskLocal static var current: RequestLog?

    private struct Entry {
        var status: HTTPResponse.Status?
        var promptTokens: Int?
        var completionTokens: Int?
        var deferred = false
        var written = false
    }
    private let method: String
    private let path: String
    private let start = ContinuousClock.now
    private let entry = Mutex(Entry())

    init(method: String, path: String) {
        self.method = method
        self.path = path
    }

    func record(status: HTTPResponse.Status) { entry.withLock { if $0.status == nil || $0.deferred { $0.status = status } } }

    func record(promptTokens: Int, completionTokens: Int) {
        entry.withLock {
            $0.promptTokens = promptTokens
            $0.completionTokens = completionTokens
        }
    }

    func deferUntilStreamEnds() { entry.withLock { $0.deferred = true } }

    /// The response is ready; its line is written now unless it streams.
    func responded(_ status: HTTPResponse.Status) {
        let deferred = entry.withLock { entry in
            if entry.status == nil { entry.status = status }
            return entry.deferred
        }
        if !deferred { writeLine() }
    }

    func streamEnded() { writeLine() }

    private func writeLine() {
        let line: String? = entry.withLock { entry in
            guard !entry.written else { return nil }
            entry.written = true
            let milliseconds = (ContinuousClock.now - start) / .milliseconds(1)
            var line = "\(method) \(path) \(entry.status?.code ?? 0)"
            if let p = entry.promptTokens, let c = entry.completionTokens { line += " \(p)+\(c) tokens" }
            return line + " \(Int(milliseconds.rounded())) ms\n"
        }
        guard let line else { return }
        // One write(2) per line, so lines of concurrent requests never interleave.
        _ = line.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
    }
}
