import Chat
import ChatTemplates
import Hummingbird
import Serving

/// `/v1/chat/completions`: messages through the chat template, one answer or a chunk stream.
extension OpenAIServer {
    func chatCompletion(_ body: ChatCompletionRequest) async throws -> Response {
        guard !body.messages.isEmpty else { throw APIError.invalid("messages is empty", param: "messages") }
        for (i, m) in body.messages.enumerated() where !["system", "user", "assistant", "developer", "tool"].contains(m.role) {
            throw APIError.invalid(
                "messages[\(i)].role \"\(m.role)\"; expected system, user, assistant, developer or tool", param: "messages[\(i)].role")
        }
        let messages = body.messages.map { ChatMessage(role: $0.role == "developer" ? "system" : $0.role, content: $0.content?.text ?? "") }
        let rendered: String
        do { rendered = try chatFormat.render(messages) } catch {
            throw APIError.invalid("the chat template cannot render these messages: \(error)", param: "messages")
        }
        let prompt = chatFormat.encode(rendered, tokenizer: tokenizer)
        let topLogprobs = body.logprobs == true ? (body.top_logprobs ?? 0) : nil
        if body.logprobs != true, body.top_logprobs != nil {
            throw APIError.invalid("top_logprobs needs logprobs: true", param: "top_logprobs")
        }
        let request = try generationRequest(
            body, prompt: prompt, maxTokens: body.max_completion_tokens ?? body.max_tokens, topLogprobs: topLogprobs)
        let events = try submit(request)
        let id = "chatcmpl-" + Self.randomID()
        if body.stream == true {
            let shape = ChatCompletionChunks(id: id, created: Self.now, model: configuration.modelID)
            return stream(events, shape: shape, includeUsage: body.stream_options?.include_usage == true)
        }
        var text = "", logprobs: [ChatLogprob] = [], finish = FinishReason.stop,
            usage = Usage(prompt_tokens: prompt.count, completion_tokens: 0)
        for await event in events {
            switch event {
            case .text(let piece, _, let chosen, let top):
                text += piece
                if let chosen { logprobs.append(ChatLogprob(chosen, top: top)) }
            case .finished(let reason, let p, let c, let cached):
                finish = reason
                usage = Usage(prompt_tokens: p, completion_tokens: c, cached_tokens: cached)
            case .failed(let message):
                throw APIError.invalid(message, param: "messages")
            }
        }
        let choice = ChatChoice(
            message: .init(content: text), logprobs: request.topLogprobs == nil ? nil : .init(content: logprobs),
            finish_reason: finish.rawValue)
        return json(ChatCompletion(id: id, created: Self.now, model: configuration.modelID, choices: [choice], usage: usage))
    }
}
