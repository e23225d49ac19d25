import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `atelier serve smollm2-135m --port 0 …` with its stderr kept in a file (the request log,
/// warnings), waited for until it prints its address.
final class ServeProcess: @unchecked Sendable {  // its fields are set once, in init
    let process = Process()
    let port: Int
    let stderrPath: String

    init(arguments: [String], model: String = "smollm2-135m") throws {
        stderrPath = NSTemporaryDirectory() + "atelier-serve-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: try EngineBinary.path())
        process.arguments = ["serve", model, "--port", "0", "-t", "2"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle(forWritingAtPath: stderrPath)
        try process.run()
        var text = ""
        let handle = output.fileHandleForReading
        while !text.contains("/v1") {
            let data = handle.availableData
            if data.isEmpty { throw EngineBinary.Failure("the server exited before listening: \(text)") }
            text += String(decoding: data, as: UTF8.self)
        }
        guard let colon = text.range(of: "127.0.0.1:"), let end = text.range(of: "/v1", range: colon.upperBound..<text.endIndex),
            let port = Int(text[colon.upperBound..<end.lowerBound])
        else { throw EngineBinary.Failure("no address in \(text)") }
        self.port = port
    }

    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    /// SIGTERM, then the exit status once it exits (nil if it runs past `seconds`).
    @discardableResult
    func stop(within seconds: Double = 60) -> Int32? {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
        return waitForExit(within: seconds)
    }

    func waitForExit(within seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        guard !process.isRunning else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        return process.terminationStatus
    }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: stderrPath)
    }
}

/// One TCP connection to the server, written and read as raw bytes, so that malformed and
/// partial requests can be sent and what comes back (or the connection closing) observed.
final class RawConnection {
    let socket: Int32

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(socket)
            throw EngineBinary.Failure("cannot connect to port \(port): errno \(errno)")
        }
    }

    deinit { close(socket) }

    func send(_ text: String) { send(Array(text.utf8)) }

    func send(_ bytes: [UInt8]) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }

    func shutdownWriting() { shutdown(socket, Int32(SHUT_WR)) }

    /// Everything until the server closes the connection or `seconds` pass; `closed` says which.
    func readUntilClosed(within seconds: Double) -> (bytes: [UInt8], closed: Bool) {
        var bytes: [UInt8] = []
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000)))
            if ready <= 0 { continue }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = recv(socket, &buffer, buffer.count, 0)
            if n <= 0 { return (bytes, true) }
            bytes += buffer[0..<n]
        }
        return (bytes, false)
    }

    /// One response: its head and a body of Content-Length bytes.
    func readResponse(within seconds: Double = 30) -> RawResponse? {
        var bytes: [UInt8] = []
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let response = RawResponse(bytes) { return response }
            var poller = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, Int32(max(1, deadline.timeIntervalSinceNow * 1000))) <= 0 { continue }
            var buffer = [UInt8](repeating: 0, count: 65536)
            let n = recv(socket, &buffer, buffer.count, 0)
            if n <= 0 { return RawResponse(bytes) }
            bytes += buffer[0..<n]
        }
        return nil
    }
}

struct RawResponse {
    let status: Int
    let headers: [String: String]
    let body: [UInt8]

    /// nil until `bytes` hold a whole response with a Content-Length body.
    init?(_ bytes: [UInt8]) {
        let separator = Array("\r\n\r\n".utf8)
        guard let end = (0..<max(0, bytes.count - 3)).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else { return nil }
        let lines = String(decoding: bytes[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { return nil }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = headers["content-length"].flatMap(Int.init) ?? 0
        guard bytes.count >= end + 4 + length else { return nil }
        self.status = status
        self.headers = headers
        body = Array(bytes[(end + 4)..<(end + 4 + length)])
    }

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    var error: [String: Any] { json["error"] as? [String: Any] ?? [:] }
    var message: String { error["message"] as? String ?? "" }
}

extension ServeProcess {
    /// One request on a new connection: `body` as given (raw bytes, any Content-Length).
    func request(
        _ method: String, _ path: String, body: [UInt8]? = nil, headers: [String: String] = [:], within seconds: Double = 120
    ) throws -> RawResponse {
        let connection = try RawConnection(port: port)
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body, headers["Content-Length"] == nil { head += "Content-Length: \(body.count)\r\nContent-Type: application/json\r\n" }
        connection.send(head + "\r\n")
        if let body { connection.send(body) }
        guard let response = connection.readResponse(within: seconds) else {
            throw EngineBinary.Failure("no response to \(method) \(path) within \(seconds) s")
        }
        return response
    }

    func post(_ path: String, json: String, headers: [String: String] = [:]) throws -> RawResponse {
        try request("POST", path, body: Array(json.utf8), headers: headers)
    }

    func health() throws -> [String: Any] { try request("GET", "/health", within: 10).json }
}
