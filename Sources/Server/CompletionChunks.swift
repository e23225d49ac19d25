import Serving

/// `text_completion` chunks of the legacy endpoint: text pieces, then the finish.
struct CompletionChunks: EventStreamShape {
    let id: String
    let created: Int
    let model: String

    var opening: Completion? { nil }

    func text(_ piece: String, chosen: GenerationEvent.TokenLogprob?, top: [GenerationEvent.TokenLogprob]) -> Completion {
        var logprobs: CompletionLogprobs?
        if let chosen {
            var entry = CompletionLogprobs()
            entry.add(chosen, top: top, offset: 0)
            logprobs = entry
        }
        return Completion(
            id: id, object: "text_completion", created: created, model: model,
            choices: [CompletionChoice(text: piece, logprobs: logprobs, finish_reason: nil)], usage: nil)
    }

    func finish(_ reason: FinishReason) -> Completion {
        Completion(
            id: id, object: "text_completion", created: created, model: model,
            choices: [CompletionChoice(text: "", logprobs: nil, finish_reason: reason.rawValue)], usage: nil)
    }

    func usage(_ usage: Usage) -> Completion {
        Completion(id: id, object: "text_completion", created: created, model: model, choices: [], usage: usage)
    }
}
