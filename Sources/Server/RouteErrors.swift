import Hummingbird

/// Every failure as an OpenAI error object: unknown routes (404), a known path with another
/// method (405 with `Allow`), and errors that are not ours (500); and the request log's line.
struct ErrorsAndRequestLog<Context: RequestContext>: RouterMiddleware {
    /// The routes `OpenAIServer.run` registers, for the 404 and 405 answers.
    static var routes: [(method: HTTPRequest.Method, path: String)] {
        [(.get, "/health"), (.get, "/v1/models"), (.get, "/v1/models/{id}"), (.post, "/v1/chat/completions"), (.post, "/v1/completions")]
    }

    let logRequests: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let log = logRequests ? RequestLog(method: request.method.rawValue, path: request.uri.path) : nil
        do {
            let response = try await RequestLog.$current.withValue(log) { try await next(request, context) }
            log?.responded(response.status)
            return response
        } catch {
            let apiError = Self.apiError(for: error, request: request)
            log?.responded(apiError.status)
            return try apiError.response(from: request, context: context)
        }
    }

    static func apiError(for error: any Error, request: Request) -> APIError {
        if let apiError = error as? APIError { return apiError }
        if let http = error as? HTTPError, http.status == .notFound { return unrouted(request) }
        if let http = error as? any HTTPResponseError {
            return APIError(
                status: http.status, message: "\(error)", type: http.status.code < 500 ? "invalid_request_error" : "server_error",
                param: nil,
                code: nil)
        }
        return APIError(status: .internalServerError, message: "internal error: \(error)", type: "server_error", param: nil, code: nil)
    }

    static func unrouted(_ request: Request) -> APIError {
        let path = request.uri.path
        let methods = routes.filter { matches(path, pattern: $0.path) }.map(\.method)
        guard methods.isEmpty else {
            let allowed = methods.map(\.rawValue).joined(separator: ", ")
            return APIError(
                status: .methodNotAllowed, message: "\(request.method.rawValue) \(path) is not allowed; this route takes \(allowed)",
                type: "invalid_request_error", param: nil, code: "method_not_allowed", headers: [.allow: allowed])
        }
        let known = routes.map { "\($0.method.rawValue) \($0.path)" }.joined(separator: ", ")
        return APIError(
            status: .notFound, message: "no route \(request.method.rawValue) \(path); this server answers \(known)",
            type: "invalid_request_error", param: nil, code: "unknown_route")
    }

    /// `{name}` in a pattern matches any one path component.
    static func matches(_ path: String, pattern: String) -> Bool {
        let given = path.split(separator: "/"), expected = pattern.split(separator: "/")
        return given.count == expected.count && zip(given, expected).allSatisfy { $1.hasPrefix("{") || $0 == $1 }
    }
}
