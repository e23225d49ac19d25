import Serving

/// `chat.completion.chunk`s: an opening delta with the role, then content deltas, then the finish.
struct ChatCompletionChunks: EventStreamShape {
    let id: String
    let created: Int
    let model: String

    var opening: ChatChunk? {
        ChatChunk(
            id: id, created: created, model: model, choices: [.init(delta: .init(role: "assistant", content: ""), finish_reason: nil)])
    }

    func text(_ piece: String, chosen: GenerationEvent.TokenLogprob?, top: [GenerationEvent.TokenLogprob]) -> ChatChunk {
        let logprobs = chosen.map { ChatLogprobs(content: [ChatLogprob($0, top: top)]) }
        return ChatChunk(
            id: id, created: created, model: model, choices: [.init(delta: .init(content: piece), logprobs: logprobs, finish_reason: nil)])
    }

    func finish(_ reason: FinishReason) -> ChatChunk {
        ChatChunk(id: id, created: created, model: model, choices: [.init(delta: .init(), finish_reason: reason.rawValue)])
    }

    func usage(_ usage: Usage) -> ChatChunk { ChatChunk(id: id, created: created, model: model, choices: [], usage: usage) }
}
