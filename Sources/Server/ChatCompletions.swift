import Chat
import ChatTemplates
import Hummingbird
import NIOCore
import Serving

/// `/v1/chat/completions`: messages through the chat template, one answer or a chunk stream.
extension OpenAIServer {
    /// Parses, renders and tokenizes on a prompt worker thread: the slow part of a big request.
    func prepareChat(_ body: [UInt8]) throws -> (ChatCompletionRequest, GenerationRequest) {
        let chat = try ChatCompletionRequest(Self.parseJSON(body))
        try checkPromptBytes(chat.messages.reduce(0) { $0 + $1.content.utf8.count }, param: "messages")
        let messages = chat.messages.map { ChatMessage(role: $0.role, content: $0.content) }
        let rendered: String
        do { rendered = try chatFormat.render(messages) } catch {
            throw APIError.invalid("the chat template cannot render these messages: \(error)", param: "messages")
        }
        let prompt = chatFormat.encode(rendered, messages: messages, tokenizer: tokenizer)
        let request = try generationRequest(
            chat.shared, prompt: prompt, maxTokens: chat.shared.maxTokens, topLogprobs: chat.logprobs ? (chat.topLogprobs ?? 0) : nil,
            param: "messages")
        return (chat, request)
    }

    func chatCompletion(_ body: [UInt8], connection: any Channel) async throws -> Response {
        let (chat, request) = try await promptWorkers.run { try self.prepareChat(body) }
        let events = watch(try submit(request), connection: connection)
        let id = "chatcmpl-" + Self.randomID()
        if chat.shared.stream {
            let shape = ChatCompletionChunks(id: id, created: Self.now, model: configuration.modelID)
            return stream(events, shape: shape, includeUsage: chat.shared.includeUsage)
        }
        var text = "", logprobs: [ChatLogprob] = []
        let outcome = try await collect(events, param: "messages") { piece, chosen, top in
            text += piece
            if let chosen { logprobs.append(ChatLogprob(chosen, top: top)) }
        }
        let choice = ChatChoice(
            message: .init(content: text), logprobs: request.topLogprobs == nil ? nil : .init(content: logprobs),
            finish_reason: outcome.finish.rawValue)
        return json(ChatCompletion(id: id, created: Self.now, model: configuration.modelID, choices: [choice], usage: outcome.usage))
    }
}
