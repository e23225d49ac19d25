import FoundationEssentials

/// `content` is a string or an array of `{"type": "text", "text": ...}` parts.
struct MessageContent: Decodable, Sendable {
    var text: String
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { text = ""; return }
        if let s = try? c.decode(String.self) { text = s; return }
        struct Part: Decodable { var type: String; var text: String? }
        let parts = try c.decode([Part].self)
        if let bad = parts.first(where: { $0.type != "text" }) {
            throw APIError.invalid(
                "content part type \"\(bad.type)\" is not supported; this model reads text parts only", param: "messages")
        }
        text = parts.compactMap(\.text).joined()
    }
}

/// `stop` is a string or an array of up to 4 strings.
struct StopSequences: Decodable, Sendable {
    var values: [String]
    init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            values = []
        } else if let s = try? c.decode(String.self) {
            values = [s]
        } else {
            values = try c.decode([String].self)
        }
    }
}

struct ChatMessageIn: Decodable, Sendable {
    var role: String
    var content: MessageContent?
}

struct StreamOptions: Decodable, Sendable {
    var include_usage: Bool?
}

/// The fields both endpoints share.
protocol SamplingFields {
    var model: String? { get }
    var temperature: Double? { get }
    var top_p: Double? { get }
    var max_tokens: Int? { get }
    var seed: Int? { get }
    var presence_penalty: Double? { get }
    var frequency_penalty: Double? { get }
    var stop: StopSequences? { get }
    var stream: Bool? { get }
    var stream_options: StreamOptions? { get }
    var n: Int? { get }
}

struct ChatCompletionRequest: Decodable, Sendable, SamplingFields {
    var model: String?
    var messages: [ChatMessageIn]
    var temperature: Double?
    var top_p: Double?
    var max_tokens: Int?
    var max_completion_tokens: Int?
    var seed: Int?
    var presence_penalty: Double?
    var frequency_penalty: Double?
    var stop: StopSequences?
    var stream: Bool?
    var stream_options: StreamOptions?
    var logprobs: Bool?
    var top_logprobs: Int?
    var n: Int?
}

struct CompletionRequest: Decodable, Sendable, SamplingFields {
    var model: String?
    var prompt: StopSequences  // a string or an array of strings: the same shape
    var temperature: Double?
    var top_p: Double?
    var max_tokens: Int?
    var seed: Int?
    var presence_penalty: Double?
    var frequency_penalty: Double?
    var stop: StopSequences?
    var stream: Bool?
    var stream_options: StreamOptions?
    var logprobs: Int?
    var echo: Bool?
    var n: Int?
}
