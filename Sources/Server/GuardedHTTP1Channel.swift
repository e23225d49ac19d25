import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypesHTTP1
import Synchronization

/// Hummingbird's HTTP/1 connection with a `ConnectionGuard` in its pipeline, and a limit on open
/// connections: one over the limit gets a 503 and is closed without reaching Hummingbird.
struct GuardedHTTP1Channel: ServerChildChannel {
    struct Connection: ServerChildChannelValue {
        let channel: any Channel
        /// nil for a refused connection.
        let http: HTTP1Channel.Value?
    }

    let http1: HTTP1Channel
    let limits: ConnectionLimits
    let open: OpenConnections

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Connection> {
        let limits = self.limits
        let admitted = open.admit(limit: limits.maxConnections)
        channel.closeFuture.whenComplete { [open] _ in open.closed() }
        guard admitted else {
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(RefusedConnection(limit: limits.maxConnections))
                return Connection(channel: channel, http: nil)
            }
        }
        return http1.setup(channel: channel, logger: logger).flatMapThrowing { http in
            let operations = channel.pipeline.syncOperations
            let codec = try operations.handler(type: HTTP1ToHTTPServerCodec.self)
            try operations.addHandler(ConnectionGuard(limits: limits), position: .before(codec))
            return Connection(channel: channel, http: http)
        }
    }

    func handle(value: Connection, logger: Logger) async {
        if let http = value.http {
            await http1.handle(value: http, logger: logger)
        } else {
            try? await value.channel.closeFuture.get()
        }
    }
}

/// How many connections are open.
final class OpenConnections: Sendable {
    private let count = Mutex(0)

    var current: Int { count.withLock { $0 } }

    /// Counts a new connection; false when it is over `limit` (it is counted all the same until it closes).
    func admit(limit: Int) -> Bool {
        count.withLock { count in
            count += 1
            return count <= limit
        }
    }

    func closed() { count.withLock { $0 -= 1 } }
}

/// Answers a connection over --max-connections with a 503 and closes it: the response goes out
/// at once, what the client sends is read and dropped for up to a second (closing with unread
/// input would reset the connection and lose the response), then the connection closes.
final class RefusedConnection: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let limit: Int
    private var answered = false

    init(limit: Int) { self.limit = limit }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { answer(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        answer(context)
        context.fireChannelActive()
    }

    private func answer(_ context: ChannelHandlerContext) {
        guard !answered else { return }
        answered = true
        let body = APIError(
            status: .serviceUnavailable, message: "the server has \(limit) connections open, its limit (--max-connections); retry later",
            type: "server_error", param: nil, code: "too_many_connections"
        ).json
        var response = context.channel.allocator.buffer(
            string:
                "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: \(body.readableBytes)\r\n"
                + "retry-after: 1\r\nconnection: close\r\n\r\n")
        response.writeImmutableBuffer(body)
        context.writeAndFlush(wrapOutboundOut(response), promise: nil)
        context.eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { context.close(promise: nil) }
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { context.close(promise: nil) }
    }
}
