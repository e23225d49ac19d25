/// Limits that keep a hostile template (a model file's own, or `--chat-template`) from trapping,
/// hanging or exhausting memory: past any of them, parsing or rendering throws a
/// `ChatTemplateError` of kind `.limitExceeded` naming the limit, instead of taking the process down.
///
/// The defaults sit far above what real templates need. Every template in
/// Tests/ChatTemplatesTests/Fixtures (SmolLM2, Qwen 2.5, Llama 3, Mistral, Gemma 3 and the feature
/// fixtures) parses at a nesting depth below 12, renders below 1 KiB, runs below 100 loop
/// iterations for a 12-message conversation and finishes in well under a millisecond. A
/// conversation is the caller's data, not the template's doing, so the byte and count limits grow
/// with its size (`scaled(forInputBytes:)`): a long conversation is never mistaken for an attack.
public struct RenderLimits: Sendable, Equatable {
    /// Bytes (UTF-8) of rendered text, including text captured by `{% set x %}…{% endset %}`.
    public var maxOutputBytes: Int
    /// Bytes (UTF-8) of any one string value the template computes.
    public var maxStringBytes: Int
    /// Elements of any one list the template computes (a `range`, `*`, `+`, a string's characters).
    public var maxSequenceLength: Int
    /// Bytes of all strings and list elements the template computes during one render, added up
    /// (a loop that keeps building large values stops here even when each value is within bounds).
    public var maxComputedBytes: Int
    /// `for` iterations in one render, all loops together (nested loops multiply).
    public var maxLoopIterations: Int
    /// Nesting of tags, parentheses, operators and values. Checked by the parser before it recurses,
    /// and by the evaluator, so neither can run out of stack.
    public var maxNestingDepth: Int
    /// Wall-clock time one render may take, measured from the start of `render`.
    public var timeLimit: Duration
    /// An absolute deadline (a server's request deadline); the render stops at whichever of this
    /// and `timeLimit` comes first.
    public var deadline: ContinuousClock.Instant?

    public init(
        maxOutputBytes: Int = 1 << 20, maxStringBytes: Int = 1 << 20, maxSequenceLength: Int = 100_000,
        maxComputedBytes: Int = 256 << 20, maxLoopIterations: Int = 1_000_000, maxNestingDepth: Int = 128,
        timeLimit: Duration = .seconds(1), deadline: ContinuousClock.Instant? = nil
    ) {
        self.maxOutputBytes = maxOutputBytes
        self.maxStringBytes = maxStringBytes
        self.maxSequenceLength = maxSequenceLength
        self.maxComputedBytes = maxComputedBytes
        self.maxLoopIterations = maxLoopIterations
        self.maxNestingDepth = maxNestingDepth
        self.timeLimit = timeLimit
        self.deadline = deadline
    }

    /// The defaults: 1 MiB of output and per string, 100,000 elements per list, 256 MiB computed in
    /// all, 1,000,000 loop iterations, nesting depth 128, 1 s.
    public static let standard = RenderLimits()

    /// These limits with room for a conversation of `inputBytes` bytes: each byte limit grows by
    /// four times the input (a template may repeat each message a few times: its content, a trimmed
    /// copy, a JSON copy), `maxComputedBytes` by 64 times (templates that build the prompt by
    /// concatenation copy it once per message), and the count limits by the input's size (iterating
    /// a message's characters). Saturates instead of overflowing.
    public func scaled(forInputBytes inputBytes: Int) -> RenderLimits {
        func grow(_ base: Int, by factor: Int) -> Int {
            let (extra, o1) = max(0, inputBytes).multipliedReportingOverflow(by: factor)
            let (sum, o2) = base.addingReportingOverflow(extra)
            return o1 || o2 ? Int.max : sum
        }
        var out = self
        out.maxOutputBytes = grow(maxOutputBytes, by: 4)
        out.maxStringBytes = grow(maxStringBytes, by: 4)
        out.maxComputedBytes = grow(maxComputedBytes, by: 64)
        out.maxSequenceLength = grow(maxSequenceLength, by: 1)
        out.maxLoopIterations = grow(maxLoopIterations, by: 1)
        return out
    }
}
