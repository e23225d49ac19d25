import Foundation

/// A tiny HTTP/1.1 server on 127.0.0.1 (ephemeral port) for download tests. One connection
/// at a time, `Connection: close` on every response; it stops itself after `lifetime` seconds.
/// `blob` is served at `blobPath` (HEAD, GET, ranges, the failure `mode`); `pages` are other paths
/// (with their query) answered 200 with a fixed body; anything else is a 404.
final class TestHTTPServer: @unchecked Sendable {
    enum Mode {
        case normal
        case dropFirstGetHalfway  // first GET sends half the body, then closes
        case dropFirstGetAndIgnoreRange  // as above, and answers 200 (full body) to ranged GETs
        case alwaysDrop  // every GET sends headers and closes without a body
        case notFound
        case halfThenAlwaysDrop  // first GET sends half the body, every later GET closes without a body
    }

    typealias Request = (method: String, path: String, range: String?, authorization: String?)

    let blob: [UInt8]
    let blobPath: String
    let pages: [String: [UInt8]]
    private(set) var port: UInt16 = 0
    private let listenFD: Int32
    private let lock = NSLock()
    private var _requests: [Request] = []
    private var _mode: Mode
    private var stopped = false

    var requests: [Request] { lock.withLock { _requests } }
    /// Switchable, so one test can fail a download and then let the re-run succeed.
    var mode: Mode {
        get { lock.withLock { _mode } }
        set { lock.withLock { _mode = newValue } }
    }
    var base: String { "http://127.0.0.1:\(port)" }
    var url: String { base + blobPath }

    init(
        blob: [UInt8], mode: Mode, lifetime: Double = 60, blobPath: String = "/files/Tiny-Model.GGUF",
        pages: [String: [UInt8]] = [:]
    ) throws {
        self.blob = blob
        self._mode = mode
        self.blobPath = blobPath
        self.pages = pages
        listenFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listenFD >= 0 else { throw POSIXError(.EIO) }
        var one: Int32 = 1
        setsockopt(listenFD, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listenFD, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listenFD, 8) == 0 else { close(listenFD); throw POSIXError(.EADDRINUSE) }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listenFD, $0, &len) }
        }
        port = UInt16(bigEndian: addr.sin_port)
        let deadline = Date().addingTimeInterval(lifetime)
        Thread { [self] in serve(until: deadline) }.start()
    }

    func stop() { lock.withLock { stopped = true } }

    private func serve(until deadline: Date) {
        defer { close(listenFD) }
        var getCount = 0
        while Date() < deadline && !lock.withLock({ stopped }) {
            var pfd = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { continue }
            let client = accept(listenFD, nil, nil)
            guard client >= 0 else { continue }
            var timeout = timeval(tv_sec: 5, tv_usec: 0)
            setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            handle(client, getCount: &getCount)
            close(client)
        }
    }

    private func handle(_ fd: Int32, getCount: inout Int) {
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while request.count < 65_536 {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { return }
            request += buffer.prefix(n)
            if String(decoding: request, as: UTF8.self).contains("\r\n\r\n") { break }
        }
        let lines = String(decoding: request, as: UTF8.self).components(separatedBy: "\r\n")
        let parts = lines.first?.split(separator: " ") ?? []
        guard parts.count >= 2 else { return }
        let method = String(parts[0]), path = String(parts[1])
        var range: String?, authorization: String?
        for line in lines.dropFirst() {
            if line.lowercased().hasPrefix("range:") { range = line.dropFirst(6).trimmingCharacters(in: .whitespaces) }
            if line.lowercased().hasPrefix("authorization:") { authorization = line.dropFirst(14).trimmingCharacters(in: .whitespaces) }
        }
        lock.withLock { _requests.append((method, path, range, authorization)) }
        let mode = self.mode

        if let page = pages[path] {
            send(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(page.count)\r\nConnection: close\r\n\r\n")
            if method != "HEAD" { sendBytes(fd, page) }
            return
        }
        if mode == .notFound || path != blobPath {
            send(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found")
            return
        }
        let total = blob.count
        if method == "HEAD" {
            send(fd, "HTTP/1.1 200 OK\r\nContent-Length: \(total)\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n")
            return
        }
        getCount += 1
        var start = 0
        if let range, range.hasPrefix("bytes="), let n = Int(range.dropFirst(6).split(separator: "-").first ?? ""),
            mode != .dropFirstGetAndIgnoreRange || getCount == 1
        {
            start = min(n, total)
        }
        if mode == .alwaysDrop || (mode == .halfThenAlwaysDrop && getCount > 1) {
            // Headers promising a body (the range asked for, if any), then the connection closes.
            if start > 0 {
                send(
                    fd,
                    "HTTP/1.1 206 Partial Content\r\nContent-Length: \(total - start)\r\n"
                        + "Content-Range: bytes \(start)-\(total - 1)/\(total)\r\nConnection: close\r\n\r\n")
            } else {
                send(fd, "HTTP/1.1 200 OK\r\nContent-Length: \(total)\r\nConnection: close\r\n\r\n")
            }
            return
        }
        if (mode == .dropFirstGetHalfway || mode == .dropFirstGetAndIgnoreRange || mode == .halfThenAlwaysDrop) && getCount == 1 {
            send(fd, "HTTP/1.1 200 OK\r\nContent-Length: \(total)\r\nConnection: close\r\n\r\n")
            sendBytes(fd, Array(blob[0..<total / 2]))
            return
        }
        if start > 0 {
            send(
                fd,
                "HTTP/1.1 206 Partial Content\r\nContent-Length: \(total - start)\r\n"
                    + "Content-Range: bytes \(start)-\(total - 1)/\(total)\r\nConnection: close\r\n\r\n")
        } else {
            send(fd, "HTTP/1.1 200 OK\r\nContent-Length: \(total)\r\nConnection: close\r\n\r\n")
        }
        sendBytes(fd, Array(blob[start...]))
    }

    private func send(_ fd: Int32, _ text: String) { sendBytes(fd, Array(text.utf8)) }

    private func sendBytes(_ fd: Int32, _ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}
