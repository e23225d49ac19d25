import NIOCore
import NIOHTTP1

/// How long a connection may take, and how many may be open.
public struct ConnectionLimits: Sendable {
    /// Seconds a request's head may take to arrive on a new connection, and its body after the head.
    public var requestTimeout: Double
    /// Seconds a kept-alive connection may wait for its next request.
    public var idleTimeout: Double
    /// Open connections beyond this get a 503 and are closed.
    public var maxConnections: Int

    public init(requestTimeout: Double = 30, idleTimeout: Double = 60, maxConnections: Int = 256) {
        self.requestTimeout = requestTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
    }
}

/// Guards one HTTP/1 connection, between the HTTP decoder and the rest of the pipeline:
/// - deadlines: the request's head within `requestTimeout` of the connection opening (a client
///   that trickles half a header is closed then), its body within `requestTimeout` of its head
///   (408), the next request within `idleTimeout` of the last response;
/// - malformed HTTP (request line, Content-Length, a body cut short) answered with an OpenAI
///   error body instead of an empty 400;
/// - `Connection: close` and HTTP/1.0 without keep-alive: the connection closes after the response;
/// - a client that closes its end closes the connection, so a request still generating for it
///   (non-streaming: nothing is written until the end) is cancelled at once.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum Phase {
        case awaitingHead(first: Bool)
        case readingBody(announced: Int?, received: Int)
        case responding
    }

    private let limits: ConnectionLimits
    private var phase = Phase.awaitingHead(first: true)
    private var responseStarted = false
    private var responseEnded = false
    private var closeAfterResponse = false
    private var deadline: Scheduled<Void>?

    init(limits: ConnectionLimits) { self.limits = limits }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(var head):
            responseStarted = false
            responseEnded = false
            if !head.isKeepAlive {
                // Closing is this handler's job: Hummingbird would stop reading at once after
                // the response, and a client still sending its body would get a reset instead.
                closeAfterResponse = true
                head.headers.remove(name: "connection")
            }
            phase = .readingBody(announced: head.headers.first(name: "content-length").flatMap(Int.init), received: 0)
            arm(context)
            context.fireChannelRead(wrapInboundOut(.head(head)))
        case .body(let buffer):
            if case .readingBody(let announced, let received) = phase {
                phase = .readingBody(announced: announced, received: received + buffer.readableBytes)
            }
            context.fireChannelRead(data)
        case .end:
            // A response can end before its request's body does (an early 401 or 413).
            phase = responseEnded ? .awaitingHead(first: false) : .responding
            arm(context)
            context.fireChannelRead(data)
            if responseEnded && closeAfterResponse { context.close(promise: nil) }
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head):
            responseStarted = true
            if closeAfterResponse { head.headers.replaceOrAdd(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            responseEnded = true
            if closeAfterResponse {
                // With the request's body still arriving (an early 413 or 401), closing now would
                // reset the connection and lose the response: it closes when the body has come.
                if case .readingBody = phase {
                    context.writeAndFlush(data, promise: promise)
                    return
                }
                let done = context.eventLoop.makePromise(of: Void.self)
                done.futureResult.cascade(to: promise)
                context.writeAndFlush(data, promise: done)
                done.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
                return
            }
            if case .responding = phase {
                phase = .awaitingHead(first: false)
                arm(context)
            }
            context.write(data, promise: promise)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            context.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        // Answered here, with a body, instead of passing it on to Hummingbird's empty 400.
        switch (parserError, phase) {
        case (.invalidEOFState, .readingBody(let announced, let received)):
            let expected = announced.map { " of the \($0) its Content-Length announced" } ?? ""
            answerAndClose(
                context, status: .badRequest, code: "incomplete_body",
                message: "the connection closed after \(received) body bytes\(expected)")
        case (.headerOverflow, _):
            answerAndClose(
                context, status: .init(statusCode: 431), code: "headers_too_large", message: "the request's header fields are too large")
        case (.invalidContentLength, _), (.unexpectedContentLength, _):
            answerAndClose(
                context, status: .badRequest, code: "invalid_content_length",
                message: "the Content-Length header is not a non-negative decimal number (or is given twice)")
        default:
            answerAndClose(context, status: .badRequest, code: "malformed_request", message: "malformed HTTP request: \(parserError)")
        }
    }

    private func arm(_ context: ChannelHandlerContext) {
        disarm()
        let seconds: Double
        switch phase {
        case .awaitingHead(let first): seconds = first ? limits.requestTimeout : limits.idleTimeout
        case .readingBody: seconds = limits.requestTimeout
        case .responding: return
        }
        deadline = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) {
            self.deadlinePassed(context, seconds: seconds)
        }
    }

    private func disarm() {
        deadline?.cancel()
        deadline = nil
    }

    private func deadlinePassed(_ context: ChannelHandlerContext, seconds: Double) {
        deadline = nil
        guard case .readingBody(let announced, let received) = phase, !responseStarted else {
            context.close(promise: nil)
            return
        }
        let expected = announced.map { " of \($0)" } ?? ""
        answerAndClose(
            context, status: .requestTimeout, code: "request_timeout",
            message: "the request body did not arrive within \(Self.format(seconds)) s (\(received)\(expected) bytes came); see --timeout")
    }

    /// Writes an OpenAI error response (unless a response has begun) and closes the connection.
    private func answerAndClose(_ context: ChannelHandlerContext, status: HTTPResponseStatus, code: String, message: String) {
        disarm()
        guard context.channel.isActive, !responseStarted else {
            context.close(promise: nil)
            return
        }
        responseStarted = true
        let body = context.channel.allocator.buffer(
            bytes: APIError(status: .init(code: Int(status.code)), message: message, type: "invalid_request_error", param: nil, code: code)
                .json.readableBytesView)
        let headers: HTTPHeaders = [
            "content-type": "application/json", "content-length": "\(body.readableBytes)", "connection": "close",
        ]
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
