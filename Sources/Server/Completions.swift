import Hummingbird
import NIOCore
import Serving
import Tokenizers

/// `/v1/completions` (the legacy endpoint): a text prompt continued, one answer or a chunk stream.
extension OpenAIServer {
    /// Parses and tokenizes on a prompt worker thread: the slow part of a big request.
    func prepareCompletion(_ body: [UInt8]) throws -> (CompletionRequest, GenerationRequest) {
        let completion = try CompletionRequest(Self.parseJSON(body))
        try checkPromptBytes(completion.prompt.utf8.count, param: "prompt")
        let prompt = tokenizer.encode(completion.prompt, addBOS: tokenizer.addsBOS, parseSpecialTokens: false)
        guard !prompt.isEmpty else { throw APIError.invalid("prompt is empty", param: "prompt") }
        let request = try generationRequest(
            completion.shared, prompt: prompt, maxTokens: completion.shared.maxTokens ?? 16, topLogprobs: completion.logprobs,
            param: "prompt")
        return (completion, request)
    }

    func completion(_ body: [UInt8], connection: any Channel) async throws -> Response {
        let (completion, request) = try await promptWorkers.run { try self.prepareCompletion(body) }
        let events = watch(try submit(request), connection: connection)
        let id = "cmpl-" + Self.randomID()
        if completion.shared.stream {
            let shape = CompletionChunks(id: id, created: Self.now, model: configuration.modelID)
            return stream(events, shape: shape, includeUsage: completion.shared.includeUsage)
        }
        var text = "", logprobs = CompletionLogprobs()
        let outcome = try await collect(events, param: "prompt") { piece, chosen, top in
            if let chosen { logprobs.add(chosen, top: top, offset: text.utf8.count) }
            text += piece
        }
        let choice = CompletionChoice(
            text: text, logprobs: completion.logprobs == nil ? nil : logprobs, finish_reason: outcome.finish.rawValue)
        return json(Completion(id: id, created: Self.now, model: configuration.modelID, choices: [choice], usage: outcome.usage))
    }
}
