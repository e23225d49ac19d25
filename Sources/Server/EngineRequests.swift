import Sampling
import Serving

/// From an API request to the engine: the fields both endpoints share checked and turned into a
/// `GenerationRequest`, and the engine's refusals as OpenAI errors.
extension OpenAIServer {
    func unknownModel(_ id: String) -> APIError {
        APIError(
            status: .notFound, message: "the model \"\(id)\" does not exist; this server serves \"\(configuration.modelID)\"",
            type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    /// Checks the shared fields and turns them into an engine request.
    func generationRequest(_ body: some SamplingFields, prompt: [Int32], maxTokens: Int?, topLogprobs: Int?) throws -> GenerationRequest {
        if let model = body.model, model != configuration.modelID { throw unknownModel(model) }
        if let n = body.n, n != 1 { throw APIError.invalid("n = \(n); this server returns one choice (n must be 1)", param: "n") }
        var sampling = SamplingParameters()
        sampling.temperature = Float(body.temperature ?? 1)
        sampling.topP = Float(body.top_p ?? 1)
        sampling.topK = 0
        sampling.minP = 0
        sampling.presencePenalty = Float(body.presence_penalty ?? 0)
        sampling.frequencyPenalty = Float(body.frequency_penalty ?? 0)
        sampling.seed = body.seed.map { UInt64(bitPattern: Int64($0)) } ?? UInt64.random(in: 0...UInt64.max)
        guard (0...2).contains(sampling.temperature) else {
            throw APIError.invalid("temperature \(sampling.temperature); expected 0…2", param: "temperature")
        }
        guard sampling.topP > 0 && sampling.topP <= 1 else {
            throw APIError.invalid("top_p \(sampling.topP); expected a number in (0, 1]", param: "top_p")
        }
        guard abs(sampling.presencePenalty) <= 2 else {
            throw APIError.invalid("presence_penalty \(sampling.presencePenalty); expected -2…2", param: "presence_penalty")
        }
        guard abs(sampling.frequencyPenalty) <= 2 else {
            throw APIError.invalid("frequency_penalty \(sampling.frequencyPenalty); expected -2…2", param: "frequency_penalty")
        }
        let stops = body.stop?.values ?? []
        guard stops.count <= 4 else { throw APIError.invalid("stop has \(stops.count) sequences; at most 4", param: "stop") }
        if let maxTokens, maxTokens < 1 { throw APIError.invalid("max_tokens \(maxTokens); expected ≥ 1", param: "max_tokens") }
        if let topLogprobs, !(0...20).contains(topLogprobs) {
            throw APIError.invalid("top_logprobs \(topLogprobs); expected 0…20", param: "top_logprobs")
        }
        guard prompt.count < engine.slotContext else {
            throw APIError.invalid(
                "the prompt has \(prompt.count) tokens; this server's context holds \(engine.slotContext)",
                param: "messages", code: "context_length_exceeded")
        }
        let room = engine.slotContext - prompt.count
        return GenerationRequest(
            prompt: prompt, maxTokens: min(maxTokens ?? room, room), sampling: sampling, stop: stops, topLogprobs: topLogprobs)
    }

    func submit(_ request: GenerationRequest) throws -> AsyncStream<GenerationEvent> {
        do { return try engine.submit(request) } catch let busy as EngineBusy {
            throw APIError(status: .tooManyRequests, message: busy.description, type: "rate_limit_error", param: nil, code: "queue_full")
        } catch {
            throw APIError(status: .serviceUnavailable, message: "\(error)", type: "server_error", param: nil, code: "shutting_down")
        }
    }
}
