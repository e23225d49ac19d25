import FoundationEssentials
import Hummingbird

/// An error in OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, with its status.
struct APIError: Error, HTTPResponseError {
    var status: HTTPResponse.Status
    var message: String
    var type: String
    var param: String?
    var code: String?
    /// Headers the status calls for beyond the defaults (e.g. `Allow` on a 405).
    var headers: HTTPFields = [:]

    static func invalid(_ message: String, param: String?, code: String? = nil) -> APIError {
        APIError(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: code)
    }

    /// A request stopped before its answer: its client closed the connection (499, as nginx
    /// logs it; nobody reads it but the request log), or the shutdown deadline passed.
    static func cancelled(_ reason: RequestCancellation) -> APIError {
        switch reason {
        case .clientGone:
            APIError(
                status: .init(code: 499, reasonPhrase: "Client Closed Request"), message: "the client closed the connection",
                type: "invalid_request_error", param: nil, code: "client_closed_request")
        case .shutdown:
            APIError(
                status: .serviceUnavailable, message: "the server is shutting down; the request was cancelled at the shutdown deadline",
                type: "server_error", param: nil, code: "shutting_down")
        }
    }

    private struct Body: Encodable {
        struct Inner: Encodable {
            var message: String
            var type: String
            var param: String?
            var code: String?
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(message, forKey: .message)
                try c.encode(type, forKey: .type)
                try c.encode(param, forKey: .param)  // explicit null, as OpenAI sends
                try c.encode(code, forKey: .code)
            }
            enum CodingKeys: String, CodingKey { case message, type, param, code }
        }
        var error: Inner
    }

    var json: ByteBuffer {
        let data = (try? JSONEncoder().encode(Body(error: .init(message: message, type: type, param: param, code: code)))) ?? Data()
        return ByteBuffer(bytes: data)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/json"
        if status == .tooManyRequests || status == .serviceUnavailable { headers[.retryAfter] = "1" }
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: json))
    }
}
