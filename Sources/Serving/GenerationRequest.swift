import Sampling

/// One completion to produce: a tokenized prompt and how to continue it.
public struct GenerationRequest: Sendable {
    public var prompt: [Int32]
    public var maxTokens: Int
    public var sampling: SamplingParameters
    /// Strings that end the completion; the text returned stops before them.
    public var stop: [String]
    /// Top alternatives to report per token (0: log-probabilities off; nil: not even the chosen one's).
    public var topLogprobs: Int?

    public init(prompt: [Int32], maxTokens: Int, sampling: SamplingParameters, stop: [String] = [], topLogprobs: Int? = nil) {
        self.prompt = prompt
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stop = stop
        self.topLogprobs = topLogprobs
    }
}

/// What a request produces, in order: text pieces, then one `finished`.
public enum GenerationEvent: Sendable, Equatable {
    public struct TokenLogprob: Sendable, Equatable {
        public var token: String
        public var bytes: [UInt8]
        public var logprob: Float
    }

    /// New text (possibly empty while bytes of a character or a possible stop string are held
    /// back), with the token that produced it.
    case text(String, token: Int32, logprob: TokenLogprob?, top: [TokenLogprob])
    case finished(FinishReason, promptTokens: Int, completionTokens: Int, cachedPromptTokens: Int)
    /// The request could not run (e.g. its prompt does not fit the slot's context).
    case failed(String)
}

public enum FinishReason: String, Sendable, Equatable {
    case stop, length, cancelled
}

public struct EngineBusy: Error, CustomStringConvertible {
    public var queued: Int
    public var description: String { "the server is busy: \(queued) requests are already waiting; retry later" }
}

public struct EngineStopping: Error, CustomStringConvertible {
    public var description: String { "the server is shutting down" }
}
