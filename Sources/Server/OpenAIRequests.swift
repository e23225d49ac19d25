import JSON
import Sampling
import Serving

/// The fields both endpoints share, checked: each wrong type or out-of-range value is a 400 that
/// names the field and the value sent.
struct SharedFields: Sendable {
    var model: String?
    var sampling = SamplingParameters()
    var maxTokens: Int?
    var stop: [String] = []
    var stream = false
    var includeUsage = false

    init(_ body: JSONFields, maxTokensKeys: [String]) throws {
        // Any name is served by the one model this server has, and answers carry its real id:
        // clients hard-code names ("gpt-4o"), and llama.cpp's server accepts any name the same
        // way (Ollama refuses unknown names because it loads models by name; this server cannot).
        model = try body.string("model")
        sampling.temperature = Float(try body.number("temperature", in: 0...2, expected: "a number from 0 to 2") ?? 1)
        sampling.topP = Float(try body.number("top_p", in: 0...1, excludingLower: true, expected: "a number in (0, 1]") ?? 1)
        // llama.cpp's extensions, which the sampler implements; off unless asked for.
        sampling.topK = try body.integer("top_k", in: 0...Int(Int32.max), expected: "an integer ≥ 0 (0: off)") ?? 0
        sampling.minP = Float(try body.number("min_p", in: 0...1, expected: "a number from 0 to 1") ?? 0)
        sampling.presencePenalty = Float(try body.number("presence_penalty", in: -2...2, expected: "a number from -2 to 2") ?? 0)
        sampling.frequencyPenalty = Float(try body.number("frequency_penalty", in: -2...2, expected: "a number from -2 to 2") ?? 0)
        let seed = try body.integer("seed", in: Int.min...Int.max, expected: "a 64-bit integer")
        sampling.seed = seed.map { UInt64(bitPattern: Int64($0)) } ?? UInt64.random(in: 0...UInt64.max)
        for key in maxTokensKeys {
            if let n = try body.integer(key, in: 1...Int.max, expected: "an integer ≥ 1") { maxTokens = n }
        }
        stop = try body.strings("stop") ?? []
        if let i = stop.firstIndex(where: \.isEmpty) { throw APIError.invalid("stop[\(i)]: an empty stop string", param: "stop") }
        // The engine's limits (count and bytes), checked here so the client hears which field.
        do {
            try StopStringFilter.validate(stop)
        } catch {
            throw APIError.invalid(error.description, param: "stop")
        }
        stream = try body.bool("stream") ?? false
        includeUsage = try body.object("stream_options")?.bool("include_usage") ?? false
        if let n = try body.integer("n", in: Int.min...Int.max, expected: "an integer"), n != 1 {
            throw APIError.invalid("n = \(n); this server returns one choice (n must be 1)", param: "n")
        }
        try body.refuseUnsupported("logit_bias", because: "this server cannot bias token logits") {
            if case .object(let entries) = $0 { return entries.isEmpty } else { return false }
        }
    }
}

/// `/v1/chat/completions`' body.
struct ChatCompletionRequest: Sendable {
    struct Message: Sendable {
        var role: String
        var content: String
    }
    var shared: SharedFields
    var messages: [Message]
    var logprobs: Bool
    var topLogprobs: Int?

    init(_ value: JSONValue) throws {
        let body = try JSONFields(value, path: "")
        shared = try SharedFields(body, maxTokensKeys: ["max_tokens", "max_completion_tokens"])
        guard let list = try body.array("messages") else { throw APIError.invalid("messages is missing", param: "messages") }
        guard !list.isEmpty else { throw APIError.invalid("messages is empty", param: "messages") }
        messages = try list.enumerated().map { i, element in try Self.message(JSONFields(element, path: "messages[\(i)]")) }
        logprobs = try body.bool("logprobs") ?? false
        topLogprobs = try body.integer("top_logprobs", in: 0...20, expected: "an integer from 0 to 20")
        if !logprobs, topLogprobs != nil { throw APIError.invalid("top_logprobs needs logprobs: true", param: "top_logprobs") }
        try Self.refuseToolsAndFormats(body)
    }

    static func message(_ fields: JSONFields) throws -> Message {
        guard let role = try fields.string("role") else {
            throw APIError.invalid("\(fields.name("role")) is missing", param: fields.name("role"))
        }
        guard ["system", "user", "assistant", "developer", "tool"].contains(role) else {
            throw APIError.invalid(
                "\(fields.name("role")) \"\(role)\"; expected system, user, assistant, developer or tool", param: fields.name("role"))
        }
        try fields.refuseUnsupported("tool_calls", because: "this server does not run tools") {
            if case .array(let calls) = $0 { return calls.isEmpty } else { return false }
        }
        try fields.refuseUnsupported("function_call", because: "this server does not run tools")
        return Message(role: role == "developer" ? "system" : role, content: try content(fields))
    }

    /// A string, or an array of `{"type": "text", "text": …}` parts.
    static func content(_ fields: JSONFields) throws -> String {
        guard let value = fields.present("content") else { return "" }
        switch value {
        case .string(let s): return s
        case .array(let parts):
            var text = ""
            for (j, part) in parts.enumerated() {
                let partFields = try JSONFields(part, path: fields.name("content") + "[\(j)]")
                let type = try partFields.string("type") ?? ""
                guard type == "text" else {
                    throw APIError.invalid(
                        "\(partFields.name("type")) \"\(type)\" is not supported; this model reads text parts only",
                        param: partFields.name("type"))
                }
                text += try partFields.string("text") ?? ""
            }
            return text
        default: throw fields.wrongType("content", expected: "a string or an array of text parts", got: value)
        }
    }

    /// Function calling and structured output change what the answer must be; a server that
    /// cannot do them says so instead of answering as if they were not asked for.
    static func refuseToolsAndFormats(_ body: JSONFields) throws {
        let emptyArray: (JSONValue) -> Bool = { if case .array(let a) = $0 { a.isEmpty } else { false } }
        let noChoice: (JSONValue) -> Bool = { $0 == .string("none") || $0 == .string("auto") }
        try body.refuseUnsupported("tools", because: "this server does not run tools (function calling)", noEffect: emptyArray)
        try body.refuseUnsupported("functions", because: "this server does not run tools (function calling)", noEffect: emptyArray)
        try body.refuseUnsupported("tool_choice", because: "this server does not run tools (function calling)", noEffect: noChoice)
        try body.refuseUnsupported("function_call", because: "this server does not run tools (function calling)", noEffect: noChoice)
        try body.refuseUnsupported("response_format", because: "this server cannot constrain the answer to JSON or a schema") {
            $0 == .object(["type": .string("text")])
        }
        try body.refuseUnsupported("audio", because: "this model produces text only")
        try body.refuseUnsupported("modalities", because: "this model produces text only") { $0 == .array([.string("text")]) }
    }
}

/// `/v1/completions`' body (the legacy endpoint).
struct CompletionRequest: Sendable {
    var shared: SharedFields
    var prompt: String
    var logprobs: Int?

    init(_ value: JSONValue) throws {
        let body = try JSONFields(value, path: "")
        shared = try SharedFields(body, maxTokensKeys: ["max_tokens"])
        guard let prompts = try body.strings("prompt") else { throw APIError.invalid("prompt is missing", param: "prompt") }
        guard prompts.count == 1 else {
            throw APIError.invalid("prompt must be one string (got \(prompts.count)); send one request per prompt", param: "prompt")
        }
        prompt = prompts[0]
        logprobs = try body.integer("logprobs", in: 0...5, expected: "an integer from 0 to 5")
        if try body.bool("echo") == true { throw APIError.invalid("echo is not supported", param: "echo", code: "unsupported_parameter") }
        try body.refuseUnsupported("suffix", because: "this server does not fill in the middle") { $0 == .string("") }
        if let n = try body.integer("best_of", in: Int.min...Int.max, expected: "an integer"), n != 1 {
            throw APIError.invalid("best_of = \(n) is not supported; this server returns one sampled answer", param: "best_of")
        }
    }
}
