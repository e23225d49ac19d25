import Foundation
import ModelStore
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `atelier serve` at the HTTP level, over raw sockets: malformed and partial requests, error
/// bodies, timeouts, the connection limit, cancellation when a client goes away, the shutdown
/// deadline, the request log and the port check.
@Suite(.serialized, .tags(.slow, .model, .process)) struct ServerHTTPTests {
    static let question = #"[{"role": "user", "content": "What is the capital of France?"}]"#

    @Test func fieldErrorsNameTheFieldAndTheValue() throws {
        let server = try ServeProcess(arguments: ["-c", "1024"])
        defer { server.stop() }
        let cases: [(body: String, param: String?, message: String)] = [
            (#"{"messages": \#(Self.question), "max_tokens": 10.5}"#, "max_tokens", "max_tokens: expected an integer ≥ 1, got 10.5"),
            (#"{"messages": \#(Self.question), "max_tokens": 1e20}"#, "max_tokens", "max_tokens: expected an integer ≥ 1, got 1e20"),
            (
                #"{"messages": \#(Self.question), "temperature": "hot"}"#, "temperature",
                #"temperature: expected a number from 0 to 2, got the string "hot""#
            ),
            (#"{"messages": \#(Self.question), "stream": 1}"#, "stream", "stream: expected true or false, got 1"),
            (
                #"{"messages": [{"role": "user", "content": 5}]}"#, "messages[0].content",
                "messages[0].content: expected a string or an array of text parts, got 5"
            ),
            (#"{"messages": "hello"}"#, "messages", "messages: expected an array, got the string \"hello\""),
            (#"{"messages": \#(Self.question), "stop": ["a", "b", "c", "d", "e"]}"#, "stop", "stop has 5 sequences; at most 4"),
            (
                #"{"messages": \#(Self.question), "stop": ["ok", "\#(String(repeating: "x", count: 257))"]}"#, "stop",
                "stop[1] is 257 bytes of UTF-8; at most 256"
            ),
            ("null", nil, "the request body must be a JSON object; got null"),
            ("[1, 2]", nil, "the request body must be a JSON object; got an array of 2"),
            (
                #"{"messages": [1,]}"#, nil,
                "the request body is not valid JSON: unexpected ']'; expected a value at line 1, column 17 (byte 16)"
            ),
        ]
        for (body, param, message) in cases {
            let response = try server.post("/v1/chat/completions", json: body)
            #expect(response.status == 400, "\(body)")
            #expect(response.message == message, "\(body)")
            #expect(response.error["param"] as? String == param, "\(body)")
            #expect(response.error["type"] as? String == "invalid_request_error")
        }
        let invalidUTF8 = try server.request(
            "POST", "/v1/chat/completions", body: Array(#"{"messages": "#.utf8) + [0x22, 0xFF, 0x22, 0x7D])
        #expect(invalidUTF8.status == 400)
        #expect(invalidUTF8.message == "the request body is not valid UTF-8 (byte 14); JSON must be UTF-8")
        for response in try [server.post("/v1/chat/completions", json: "null"), invalidUTF8] {
            #expect(
                !response.message.contains("Dictionary") && !response.message.contains("Array<"), "no Swift type names: \(response.message)"
            )
        }
    }

    @Test func unsupportedFieldsAreRefusedAndAnyModelNameIsServed() throws {
        let server = try ServeProcess(arguments: ["-c", "1024"])
        defer { server.stop() }
        let tool = #"[{"type": "function", "function": {"name": "f", "parameters": {}}}]"#
        let refused: [(field: String, value: String)] = [
            ("tools", tool), ("tool_choice", #""required""#), ("response_format", #"{"type": "json_object"}"#),
            ("logit_bias", #"{"42": 5}"#), ("functions", tool), ("n", "2"),
        ]
        for (field, value) in refused {
            let response = try server.post("/v1/chat/completions", json: #"{"messages": \#(Self.question), "\#(field)": \#(value)}"#)
            #expect(response.status == 400, "\(field)")
            #expect(response.error["param"] as? String == field)
        }
        let suffix = try server.post("/v1/completions", json: #"{"prompt": "Hello", "suffix": "world"}"#)
        #expect(suffix.status == 400 && suffix.error["param"] as? String == "suffix")
        // Values that ask for nothing are accepted; a model name the server does not know is
        // answered by the model it serves, and the answer says which.
        let accepted = try server.post(
            "/v1/chat/completions",
            json:
                #"{"model": "gpt-4o", "messages": \#(Self.question), "max_tokens": 2, "tools": [], "tool_choice": "none", "response_format": {"type": "text"}}"#
        )
        #expect(accepted.status == 200)
        #expect(accepted.json["model"] as? String == "smollm2-135m")
        let lookup = try server.request("GET", "/v1/models/gpt-4o")
        #expect(lookup.status == 404 && lookup.error["code"] as? String == "model_not_found")
    }

    @Test func unknownRoutesAndWrongMethodsAnswerWithErrorObjects() throws {
        let server = try ServeProcess(arguments: ["-c", "1024"])
        defer { server.stop() }
        let missing = try server.request("GET", "/v2/nothing")
        #expect(missing.status == 404)
        #expect(missing.error["code"] as? String == "unknown_route")
        let getOnPost = try server.request("GET", "/v1/chat/completions")
        #expect(getOnPost.status == 405)
        #expect(getOnPost.headers["allow"] == "POST")
        #expect(getOnPost.error["code"] as? String == "method_not_allowed")
        let postOnGet = try server.request("POST", "/health", body: Array("{}".utf8))
        #expect(postOnGet.status == 405 && postOnGet.headers["allow"] == "GET")
        let health = try server.health()
        #expect(health["slots_busy"] as? Int == 0 && health["slots_total"] as? Int == 4 && health["queued"] as? Int == 0)
        let models = try server.request("GET", "/v1/models").json["data"] as? [[String: Any]]
        let expected = ModelCatalog.entry(named: "smollm2-135m")?.sha256
        #expect(models?.first?["file_sha256"] as? String == expected, "the store's verified digest of the file served")
    }

    @Test func malformedHTTPGetsErrorBodies() throws {
        let server = try ServeProcess(arguments: ["-c", "1024", "--timeout", "2"])
        defer { server.stop() }
        let exchanges: [(request: String, status: Int, code: String)] = [
            ("GARBAGE\r\n\r\n", 400, "malformed_request"),
            ("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n", 400, "invalid_content_length"),
            ("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n", 400, "invalid_content_length"),
        ]
        for (request, status, code) in exchanges {
            let connection = try RawConnection(port: server.port)
            connection.send(request)
            let response = connection.readResponse(within: 10)
            #expect(response?.status == status, "\(request)")
            #expect(response?.error["code"] as? String == code, "\(request)")
        }
        // A body shorter than its Content-Length: the client closes its end (400), or stalls (408).
        let cut = try RawConnection(port: server.port)
        cut.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"prompt\":")
        cut.shutdownWriting()
        let cutResponse = cut.readResponse(within: 10)
        #expect(cutResponse?.status == 400)
        #expect(cutResponse?.message == "the connection closed after 10 body bytes of the 100 its Content-Length announced")
        let stalled = try RawConnection(port: server.port)
        let start = Date()
        stalled.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"prompt\":")
        let stalledResponse = stalled.readResponse(within: 10)
        #expect(stalledResponse?.status == 408)
        #expect(Date().timeIntervalSince(start) < 4)
        // HTTP/1.0 without keep-alive: the response, then the connection closes.
        let old = try RawConnection(port: server.port)
        old.send("GET /health HTTP/1.0\r\n\r\n")
        let (bytes, closed) = old.readUntilClosed(within: 5)
        #expect(RawResponse(bytes)?.status == 200)
        #expect(closed, "an HTTP/1.0 connection without keep-alive is closed after its response")
    }

    @Test func slowClientsTimeOutAndConnectionsAreLimited() throws {
        let server = try ServeProcess(arguments: ["-c", "1024", "--timeout", "1", "--idle-timeout", "1", "--max-connections", "4"])
        defer { server.stop() }
        // Half a header, then nothing: closed within the timeout.
        let slow = try RawConnection(port: server.port)
        slow.send("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-")
        let start = Date()
        let (_, closed) = slow.readUntilClosed(within: 5)
        #expect(closed)
        #expect(Date().timeIntervalSince(start) < 2.5, "closed after \(Date().timeIntervalSince(start)) s")
        // Four idle connections fill the limit; a fifth gets 503 and is closed.
        let idle = try (0..<4).map { _ in try RawConnection(port: server.port) }
        usleep(200_000)
        let refused = try RawConnection(port: server.port)
        let response = refused.readResponse(within: 5)
        #expect(response?.status == 503)
        #expect(response?.error["code"] as? String == "too_many_connections")
        // Once the idle ones time out, connections are accepted again.
        _ = idle.map { $0.readUntilClosed(within: 5) }
        usleep(200_000)
        #expect(try server.health()["status"] as? String == "ok")
    }

    @Test func theKeyIsCheckedBeforeTheBodyIsRead() throws {
        let server = try ServeProcess(arguments: ["-c", "1024", "--api-key", "secret"])
        defer { server.stop() }
        let connection = try RawConnection(port: server.port)
        connection.send("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer wrong\r\nContent-Length: 3000000\r\n\r\n")
        let response = connection.readResponse(within: 5)
        #expect(response?.status == 401, "401 before any of the 3 MB body was sent")
        #expect(response?.error["code"] as? String == "invalid_api_key")
    }

    @Test func aPromptLongerThanTheContextCouldHoldIsRefusedBeforeTokenizing() throws {
        let server = try ServeProcess(arguments: ["-c", "256"])
        defer { server.stop() }
        let big = String(repeating: "word ", count: 200_000)
        let response = try server.post("/v1/completions", json: #"{"prompt": "\#(big)"}"#)
        #expect(response.status == 400)
        #expect(response.error["code"] as? String == "context_length_exceeded")
        #expect(response.message.hasPrefix("the prompt has 1000000 bytes; this server's context of 256 tokens holds at most"))
    }

    @Test func healthAnswersWhileBigPromptsAreTokenized() throws {
        // 16 prompts of 600 kB (under the 8192 × 81-byte limit, so each is parsed and tokenized,
        // about 0.2 s each here, then refused for its token count): on Swift's two cooperative
        // threads they would hold both for over a second; on the prompt worker /health stays free.
        let server = try ServeProcess(arguments: ["-c", "8192", "--max-body", "8000000"])
        defer { server.stop() }
        let words = (0..<90_000).map { "w\($0 % 9973)x" }.joined(separator: " ")
        let body = #"{"prompt": "\#(words)"}"#
        #expect(body.utf8.count > 600_000 && body.utf8.count < 663_552)
        let requests = (0..<16).map { _ in Background { (try? server.post("/v1/completions", json: body).status) ?? 0 } }
        usleep(200_000)
        var slowest = 0.0
        for _ in 0..<10 {
            let start = Date()
            _ = try server.health()
            slowest = max(slowest, Date().timeIntervalSince(start))
            usleep(100_000)
        }
        #expect(requests.map { $0.value() } == Array(repeating: 400, count: 16), "each prompt is over 8192 tokens")
        #expect(slowest < 0.5, "/health took \(slowest) s while prompts were tokenized")
    }

    @Test func aNonStreamingClientThatDisconnectsFreesItsSlot() throws {
        let server = try ServeProcess(arguments: ["-c", "2048", "--parallel", "1"])
        defer { server.stop() }
        let connection = try RawConnection(port: server.port)
        let body = #"{"messages": [{"role": "user", "content": "Write a very long story."}], "max_tokens": 1500, "temperature": 0}"#
        connection.send(
            "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        )
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, try server.health()["slots_busy"] as? Int != 1 { usleep(20_000) }
        #expect(try server.health()["slots_busy"] as? Int == 1)
        usleep(500_000)
        close(connection.socket)
        let closedAt = Date()
        while Date().timeIntervalSince(closedAt) < 5, try server.health()["slots_busy"] as? Int != 0 { usleep(20_000) }
        #expect(try server.health()["slots_busy"] as? Int == 0)
        #expect(Date().timeIntervalSince(closedAt) < 1.5, "freed \(Date().timeIntervalSince(closedAt)) s after the close")
        usleep(200_000)
        #expect(server.stderr.contains("POST /v1/chat/completions 499"), "the request log: \(server.stderr)")
    }

    @Test func shutdownCancelsWhatRunsPastItsDeadline() throws {
        let server = try ServeProcess(arguments: ["-c", "4096", "--parallel", "1", "--shutdown-timeout", "1"])
        let body = #"{"messages": [{"role": "user", "content": "Write a very long story."}], "max_tokens": 3000, "temperature": 0}"#
        let answer = Background { try? server.post("/v1/chat/completions", json: body) }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, try server.health()["slots_busy"] as? Int != 1 { usleep(20_000) }
        let start = Date()
        kill(server.process.processIdentifier, SIGTERM)
        let status = server.waitForExit(within: 10)
        #expect(status == 0)
        #expect(Date().timeIntervalSince(start) < 4, "exited \(Date().timeIntervalSince(start)) s after SIGTERM")
        let response = answer.value()
        #expect(response?.status == 503)
        #expect(response?.error["code"] as? String == "shutting_down")
    }

    @Test func requestLogWarningsAndQuiet() throws {
        let server = try ServeProcess(arguments: ["-c", "100000"])
        _ = try server.post("/v1/completions", json: #"{"prompt": "Hello", "max_tokens": 3, "temperature": 0}"#)
        _ = try server.request("GET", "/nothing")
        server.stop()
        let log = server.stderr
        #expect(log.contains("warning: -c 100000 is longer than the model's trained context (8192); each slot holds 8192 tokens"))
        #expect(log.range(of: #"POST /v1/completions 200 \d+\+3 tokens \d+ ms"#, options: .regularExpression) != nil, "\(log)")
        #expect(log.range(of: #"GET /nothing 404 \d+ ms"#, options: .regularExpression) != nil, "\(log)")
        let quiet = try ServeProcess(arguments: ["-c", "1024", "--quiet"])
        _ = try quiet.request("GET", "/health")
        quiet.stop()
        #expect(!quiet.stderr.contains("GET /health"))
    }

    @Test func aBusyPortIsReportedBeforeTheModelLoads() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, length)
                listen(listener, 1)
                return getsockname(listener, $0, &length)
            }
        }
        let port = Int(UInt16(bigEndian: address.sin_port))
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try EngineBinary.path())
        process.arguments = ["serve", "smollm2-135m", "--port", "\(port)"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(text.contains("port \(port) is in use on 127.0.0.1"), "\(text)")
    }
}

/// Work on another thread whose result the test waits for.
final class Background<T>: @unchecked Sendable {  // `result` is written once, before `done` is signalled
    private var result: T?
    private let done = DispatchSemaphore(value: 0)

    init(_ work: @escaping @Sendable () -> T) {
        let thread = Thread { [self] in
            result = work()
            done.signal()
        }
        thread.start()
    }

    func value() -> T {
        done.wait()
        done.signal()
        return result!
    }
}
