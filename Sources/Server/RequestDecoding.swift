import Hummingbird
import JSON

/// Request bodies: read up to --max-body bytes, then checked as UTF-8 and parsed as JSON with
/// errors that say what is wrong and where.
extension OpenAIServer {
    /// The body's bytes; a Content-Length or a body over the limit is a 413 before or as soon as
    /// the limit is passed (the rest is never stored).
    func readBody(_ request: Request) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > configuration.maxBodyBytes {
            throw tooLarge(length)
        }
        var bytes: [UInt8] = []
        do {
            for try await chunk in request.body {
                guard bytes.count + chunk.readableBytes <= configuration.maxBodyBytes else { throw tooLarge(nil) }
                bytes.append(contentsOf: chunk.readableBytesView)
            }
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError.invalid("the request body could not be read: \(error)", param: nil, code: "incomplete_body")
        }
        return bytes
    }

    static func parseJSON(_ bytes: [UInt8]) throws -> JSONValue {
        guard !bytes.isEmpty else { throw APIError.invalid("the request body is empty; expected a JSON object", param: nil) }
        if let offset = firstInvalidUTF8(bytes) {
            throw APIError.invalid("the request body is not valid UTF-8 (byte \(offset)); JSON must be UTF-8", param: nil)
        }
        do { return try JSONParser.parse(bytes) } catch {
            throw APIError.invalid("the request body is not valid JSON: \(error)", param: nil)
        }
    }

    /// Where the first byte that is not part of a well-formed UTF-8 sequence is, if any.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        var decoder = UTF8()
        var iterator = bytes.makeIterator()
        var offset = 0
        while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let scalar): offset += UTF8.width(scalar)
            case .emptyInput: return nil
            case .error: return offset
            }
        }
    }

    func tooLarge(_ announced: Int?) -> APIError {
        APIError(
            status: .contentTooLarge,
            message:
                "the request body \(announced.map { "of \($0) bytes " } ?? "")exceeds this server's limit of \(configuration.maxBodyBytes) bytes (--max-body)",
            type: "invalid_request_error", param: nil, code: "request_too_large")
    }
}
