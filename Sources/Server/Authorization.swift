import Hummingbird

/// The bearer key every request but /health needs when the server has one.
extension OpenAIServer {
    func authorize(_ request: Request) throws {
        guard let key = configuration.apiKey else { return }
        let given = request.headers[.authorization] ?? ""
        let expected = "Bearer " + key
        guard Self.constantTimeEqual(Array(given.utf8), Array(expected.utf8)) else {
            throw APIError(
                status: .unauthorized, message: given.isEmpty ? "missing Authorization: Bearer header" : "invalid API key",
                type: "invalid_request_error", param: nil, code: "invalid_api_key")
        }
    }

    /// Compares without stopping at the first difference, so timing tells nothing about the key.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}
