import FoundationEssentials
import Hummingbird

/// Request bodies into the request types: a size limit, and decoding errors in OpenAI's shape
/// naming the field.
extension OpenAIServer {
    func decode<T: Decodable>(_ request: Request) async throws -> T {
        var request = request
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.maxBodyBytes {
            await Self.discard(request.body)
            throw tooLarge()
        }
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: configuration.maxBodyBytes) } catch {
            await Self.discard(request.body)
            throw tooLarge()
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as APIError {
            throw error
        } catch DecodingError.keyNotFound(let key, let context) {
            throw APIError.invalid(
                "missing required field \(Self.path(context.codingPath + [key]))", param: Self.path(context.codingPath + [key]))
        } catch DecodingError.typeMismatch(let type, let context) {
            throw APIError.invalid(
                "field \(Self.path(context.codingPath)) has the wrong type; expected \(type)", param: Self.path(context.codingPath))
        } catch DecodingError.valueNotFound(let type, let context) {
            throw APIError.invalid("field \(Self.path(context.codingPath)) is null; expected \(type)", param: Self.path(context.codingPath))
        } catch DecodingError.dataCorrupted(let context) where !context.codingPath.isEmpty {
            throw APIError.invalid(
                "field \(Self.path(context.codingPath)): \(context.debugDescription)", param: Self.path(context.codingPath))
        } catch {
            throw APIError.invalid("the request body is not valid JSON", param: nil)
        }
    }

    /// Reads and drops what the client is still sending (at most 64 MiB), so it gets to read the
    /// 413 instead of blocking on a full socket.
    static func discard(_ body: RequestBody) async {
        var seen = 0
        do {
            for try await chunk in body {
                seen += chunk.readableBytes
                if seen > 64 << 20 { return }
            }
        } catch {}
    }

    static func path(_ keys: [any CodingKey]) -> String {
        keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".").replacingOccurrences(of: ".[", with: "[")
    }

    func tooLarge() -> APIError {
        APIError(
            status: .contentTooLarge, message: "the request body exceeds \(configuration.maxBodyBytes) bytes",
            type: "invalid_request_error", param: nil, code: "request_too_large")
    }
}
