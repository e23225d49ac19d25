import Hummingbird
import Serving
import Tokenizers

/// `/v1/completions` (the legacy endpoint): a text prompt continued, one answer or a chunk stream.
extension OpenAIServer {
    func completion(_ body: CompletionRequest) async throws -> Response {
        guard body.prompt.values.count == 1 else {
            throw APIError.invalid(
                "prompt must be one string (got \(body.prompt.values.count)); send one request per prompt", param: "prompt")
        }
        if body.echo == true { throw APIError.invalid("echo is not supported", param: "echo") }
        let prompt = tokenizer.encode(body.prompt.values[0], addBOS: tokenizer.addsBOS, parseSpecialTokens: false)
        guard !prompt.isEmpty else { throw APIError.invalid("prompt is empty", param: "prompt") }
        if let n = body.logprobs, !(0...5).contains(n) { throw APIError.invalid("logprobs \(n); expected 0…5", param: "logprobs") }
        let request = try generationRequest(body, prompt: prompt, maxTokens: body.max_tokens ?? 16, topLogprobs: body.logprobs)
        let events = try submit(request)
        let id = "cmpl-" + Self.randomID()
        if body.stream == true {
            let shape = CompletionChunks(id: id, created: Self.now, model: configuration.modelID)
            return stream(events, shape: shape, includeUsage: body.stream_options?.include_usage == true)
        }
        var text = "", finish = FinishReason.stop, usage = Usage(prompt_tokens: prompt.count, completion_tokens: 0)
        var logprobs = CompletionLogprobs()
        for await event in events {
            switch event {
            case .text(let piece, _, let chosen, let top):
                if let chosen { logprobs.add(chosen, top: top, offset: text.utf8.count) }
                text += piece
            case .finished(let reason, let p, let c, let cached):
                finish = reason
                usage = Usage(prompt_tokens: p, completion_tokens: c, cached_tokens: cached)
            case .failed(let message):
                throw APIError.invalid(message, param: "prompt")
            }
        }
        let choice = CompletionChoice(text: text, logprobs: body.logprobs == nil ? nil : logprobs, finish_reason: finish.rawValue)
        return json(Completion(id: id, created: Self.now, model: configuration.modelID, choices: [choice], usage: usage))
    }
}
