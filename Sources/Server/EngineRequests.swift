import Serving

/// From an API request to the engine: the prompt's size checked against the context, the
/// shared fields turned into a `GenerationRequest`, and the engine's refusals as OpenAI errors.
extension OpenAIServer {
    /// The most prompt bytes a slot's context could hold: `slotContext` tokens of the
    /// vocabulary's longest token. A longer prompt cannot fit however it tokenizes, so it is
    /// refused before the template and tokenizer spend time on it.
    var promptByteLimit: Int { engine.slotContext * longestTokenBytes }

    func checkPromptBytes(_ bytes: Int, param: String) throws {
        guard bytes > promptByteLimit else { return }
        throw APIError.invalid(
            "the prompt has \(bytes) bytes; this server's context of \(engine.slotContext) tokens holds at most \(promptByteLimit) bytes "
                + "(\(longestTokenBytes) bytes per token at most)",
            param: param, code: "context_length_exceeded")
    }

    /// Turns checked fields and a tokenized prompt into an engine request.
    func generationRequest(_ fields: SharedFields, prompt: [Int32], maxTokens: Int?, topLogprobs: Int?, param: String) throws
        -> GenerationRequest
    {
        guard prompt.count < engine.slotContext else {
            throw APIError.invalid(
                "the prompt has \(prompt.count) tokens; this server's context holds \(engine.slotContext)",
                param: param, code: "context_length_exceeded")
        }
        let room = engine.slotContext - prompt.count
        return GenerationRequest(
            prompt: prompt, maxTokens: min(maxTokens ?? room, room), sampling: fields.sampling, stop: fields.stop, topLogprobs: topLogprobs)
    }

    func submit(_ request: GenerationRequest) throws -> AsyncStream<GenerationEvent> {
        do { return try engine.submit(request) } catch let busy as EngineBusy {
            throw APIError(status: .tooManyRequests, message: busy.description, type: "rate_limit_error", param: nil, code: "queue_full")
        } catch {
            throw APIError(status: .serviceUnavailable, message: "\(error)", type: "server_error", param: nil, code: "shutting_down")
        }
    }
}
