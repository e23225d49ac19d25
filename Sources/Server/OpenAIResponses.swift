import Serving

struct Usage: Codable, Sendable {
    /// Prompt tokens whose keys and values came from a cache (this slot's earlier request or
    /// another slot's) instead of being evaluated again, as OpenAI reports its prompt caching.
    struct PromptDetails: Codable, Sendable {
        var cached_tokens: Int
    }
    var prompt_tokens: Int
    var completion_tokens: Int
    var total_tokens: Int
    var prompt_tokens_details: PromptDetails
    init(prompt_tokens: Int, completion_tokens: Int, cached_tokens: Int = 0) {
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens
        total_tokens = prompt_tokens + completion_tokens
        prompt_tokens_details = PromptDetails(cached_tokens: cached_tokens)
    }
}

struct ModelList: Encodable {
    struct Entry: Encodable {
        var id: String
        var object = "model"
        var created: Int
        var owned_by = "atelier"
        /// Which weights answer: a name pulled again while the server runs keeps the old file
        /// here until the server restarts, and this says so.
        var file_sha256: String?
        var file_bytes: Int64?
    }
    var object = "list"
    var data: [Entry]
}

struct TopLogprob: Encodable {
    var token: String
    var logprob: Float
    var bytes: [UInt8]
}

struct ChatLogprob: Encodable {
    var token: String
    var logprob: Float
    var bytes: [UInt8]
    var top_logprobs: [TopLogprob]
    init(_ chosen: GenerationEvent.TokenLogprob, top: [GenerationEvent.TokenLogprob]) {
        token = chosen.token
        logprob = chosen.logprob
        bytes = chosen.bytes
        top_logprobs = top.map { TopLogprob(token: $0.token, logprob: $0.logprob, bytes: $0.bytes) }
    }
}

struct ChatLogprobs: Encodable {
    var content: [ChatLogprob]
}

struct ChatChoice: Encodable {
    struct Message: Encodable {
        var role = "assistant"
        var content: String
    }
    var index = 0
    var message: Message
    var logprobs: ChatLogprobs?
    var finish_reason: String
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(index, forKey: .index)
        try c.encode(message, forKey: .message)
        try c.encode(logprobs, forKey: .logprobs)
        try c.encode(finish_reason, forKey: .finish_reason)
    }
    enum CodingKeys: String, CodingKey { case index, message, logprobs, finish_reason }
}

struct ChatCompletion: Encodable {
    var id: String
    var object = "chat.completion"
    var created: Int
    var model: String
    var choices: [ChatChoice]
    var usage: Usage
    init(id: String, created: Int, model: String, choices: [ChatChoice], usage: Usage) {
        self.id = id; self.created = created; self.model = model; self.choices = choices; self.usage = usage
    }
}

struct ChatChunk: Encodable {
    struct Delta: Encodable {
        var role: String?
        var content: String?
    }
    struct Choice: Encodable {
        var index = 0
        var delta: Delta
        var logprobs: ChatLogprobs?
        var finish_reason: String?
        init(delta: Delta, logprobs: ChatLogprobs? = nil, finish_reason: String?) {
            self.delta = delta; self.logprobs = logprobs; self.finish_reason = finish_reason
        }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(index, forKey: .index)
            try c.encode(delta, forKey: .delta)
            try c.encode(logprobs, forKey: .logprobs)
            try c.encode(finish_reason, forKey: .finish_reason)
        }
        enum CodingKeys: String, CodingKey { case index, delta, logprobs, finish_reason }
    }
    var id: String
    var object = "chat.completion.chunk"
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage?
    init(id: String, created: Int, model: String, choices: [Choice], usage: Usage? = nil) {
        self.id = id; self.created = created; self.model = model; self.choices = choices; self.usage = usage
    }
}

/// The legacy completions logprobs shape: parallel arrays.
struct CompletionLogprobs: Encodable {
    var tokens: [String] = []
    var token_logprobs: [Float] = []
    var top_logprobs: [[String: Float]] = []
    var text_offset: [Int] = []
    mutating func add(_ chosen: GenerationEvent.TokenLogprob, top: [GenerationEvent.TokenLogprob], offset: Int) {
        tokens.append(chosen.token)
        token_logprobs.append(chosen.logprob)
        top_logprobs.append(Dictionary(top.map { ($0.token, $0.logprob) }, uniquingKeysWith: { a, _ in a }))
        text_offset.append(offset)
    }
}

struct CompletionChoice: Encodable {
    var text: String
    var index = 0
    var logprobs: CompletionLogprobs?
    var finish_reason: String?
    init(text: String, logprobs: CompletionLogprobs?, finish_reason: String?) {
        self.text = text; self.logprobs = logprobs; self.finish_reason = finish_reason
    }
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(text, forKey: .text)
        try c.encode(index, forKey: .index)
        try c.encode(logprobs, forKey: .logprobs)
        try c.encode(finish_reason, forKey: .finish_reason)
    }
    enum CodingKeys: String, CodingKey { case text, index, logprobs, finish_reason }
}

struct Completion: Encodable {
    var id: String
    var object = "text_completion"
    var created: Int
    var model: String
    var choices: [CompletionChoice]
    var usage: Usage?
}
