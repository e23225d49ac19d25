/// How the next token is chosen. Defaults follow llama.cpp's sampler defaults, except that a
/// temperature of 0 means greedy.
public struct SamplingParameters: Sendable, Equatable {
    public var temperature: Float = 0.8
    /// 0 disables top-k.
    public var topK: Int = 40
    /// 1 disables top-p.
    public var topP: Float = 0.95
    /// 0 disables min-p.
    public var minP: Float = 0.05
    /// 1 disables the repetition penalty (CTRL-style: divide positive logits, multiply negative ones).
    public var repetitionPenalty: Float = 1.0
    /// OpenAI-style penalties: subtract `frequency × count + presence × (count > 0)`.
    public var frequencyPenalty: Float = 0
    public var presencePenalty: Float = 0
    /// How many of the most recent tokens the penalties look at.
    public var penaltyWindow: Int = 64
    public var seed: UInt64 = 0

    public init() {}

    public static var greedy: SamplingParameters {
        var p = SamplingParameters()
        p.temperature = 0
        return p
    }

    public var isGreedy: Bool { temperature <= 0 || topK == 1 }

    /// Rejects values that have no meaning, naming the option and the accepted range.
    public func validate() throws {
        func check(_ ok: Bool, _ name: String, _ value: String, _ expected: String) throws {
            if !ok { throw SamplingError(option: name, value: value, expected: expected) }
        }
        try check(temperature.isFinite && temperature >= 0, "temperature", "\(temperature)", "a finite number ≥ 0")
        try check(topK >= 0, "top-k", "\(topK)", "an integer ≥ 0 (0 disables it)")
        try check(topP.isFinite && topP > 0 && topP <= 1, "top-p", "\(topP)", "a number in (0, 1]")
        try check(minP.isFinite && minP >= 0 && minP <= 1, "min-p", "\(minP)", "a number in [0, 1]")
        try check(
            repetitionPenalty.isFinite && repetitionPenalty > 0, "repeat-penalty", "\(repetitionPenalty)", "a number > 0 (1 disables it)")
        try check(
            frequencyPenalty.isFinite && abs(frequencyPenalty) <= 2, "frequency-penalty", "\(frequencyPenalty)", "a number in [-2, 2]")
        try check(presencePenalty.isFinite && abs(presencePenalty) <= 2, "presence-penalty", "\(presencePenalty)", "a number in [-2, 2]")
        try check(penaltyWindow >= 0, "repeat-last-n", "\(penaltyWindow)", "an integer ≥ 0")
    }
}

public struct SamplingError: Error, CustomStringConvertible, Equatable {
    public let option: String
    public let value: String
    public let expected: String
    public init(option: String, value: String, expected: String) {
        self.option = option
        self.value = value
        self.expected = expected
    }
    public var description: String { "invalid --\(option) \(value): expected \(expected)" }
}
