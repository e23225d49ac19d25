/// What one render has used of its `RenderLimits`; every check throws a `.limitExceeded` error that
/// names the limit and the value that went past it.
final class RenderBudget {
    let limits: RenderLimits
    private let deadline: ContinuousClock.Instant
    private var loopIterations = 0
    private var computedBytes = 0
    private var work = 0
    private(set) var depth = 0

    /// Reading the clock costs about as much as a few dozen units of work (an element visited, a
    /// character compared); once per this many is enough to stop within a millisecond or so of the
    /// deadline.
    private static let workPerClockCheck = 4096

    init(limits: RenderLimits, start: ContinuousClock.Instant = .now) {
        self.limits = limits
        let (byTimeLimit, byDeadline) = (start.advanced(by: limits.timeLimit), limits.deadline)
        deadline = byDeadline.map { min($0, byTimeLimit) } ?? byTimeLimit
    }

    static func exceeded(_ message: String, line: Int? = nil) -> ChatTemplateError {
        ChatTemplateError(kind: .limitExceeded, message: message, line: line)
    }

    /// `cost` units of work done (elements visited, characters compared); checks the clock now and then.
    func step(cost: Int = 1, line: Int? = nil) throws {
        work &+= max(1, cost)
        if work >= Self.workPerClockCheck || work < 0 {
            work = 0
            try checkTime(line: line)
        }
    }

    func checkTime(line: Int? = nil) throws {
        if ContinuousClock.now >= deadline {
            throw Self.exceeded("template rendering exceeded its time limit (\(describe(limits.timeLimit)))", line: line)
        }
    }

    /// One iteration of a `for` loop (or of its `if` filter).
    func loopIteration(line: Int) throws {
        loopIterations += 1
        if loopIterations > limits.maxLoopIterations {
            throw Self.exceeded("template exceeded the limit of \(limits.maxLoopIterations) loop iterations per render", line: line)
        }
        try step(line: line)
    }

    /// Enters one level of statement or expression nesting; pair with `leave()`.
    func enter(line: Int?) throws {
        depth += 1
        if depth > limits.maxNestingDepth {
            depth -= 1
            throw Self.exceeded("template exceeded the nesting depth limit of \(limits.maxNestingDepth)", line: line)
        }
    }
    func leave() { depth -= 1 }

    /// Before building a string of `bytes` bytes (from `what`): within the per-string limit.
    func checkString(bytes: Int, _ what: String, line: Int? = nil) throws {
        if bytes > limits.maxStringBytes {
            throw Self.exceeded(
                "\(what) would make a string of \(bytes) bytes, over the limit of \(limits.maxStringBytes) bytes", line: line)
        }
    }

    /// Before building a list of `count` elements (from `what`): within the per-list limit.
    func checkSequence(count: Int, _ what: String, line: Int? = nil) throws {
        if count > limits.maxSequenceLength {
            throw Self.exceeded(
                "\(what) would make a list of \(count) elements, over the limit of \(limits.maxSequenceLength)", line: line)
        }
    }

    /// Adds a computed value to the render's running total (and checks its own size limits).
    func charge(_ v: Value, line: Int? = nil) throws {
        let bytes: Int
        switch v {
        case .string(let s):
            try checkString(bytes: s.utf8.count, "an expression", line: line)
            bytes = s.utf8.count
        case .list(let l):
            try checkSequence(count: l.count, "an expression", line: line)
            bytes = l.count * MemoryLayout<Value>.stride
        default: return
        }
        computedBytes += bytes
        if computedBytes > limits.maxComputedBytes {
            throw Self.exceeded(
                "template computed more than \(limits.maxComputedBytes) bytes of strings and lists in one render", line: line)
        }
        try step(line: line)
    }

    func checkOutput(bytes: Int, line: Int?) throws {
        if bytes > limits.maxOutputBytes {
            throw Self.exceeded("template output exceeded the limit of \(limits.maxOutputBytes) bytes", line: line)
        }
    }

    private func describe(_ d: Duration) -> String {
        let (seconds, attoseconds) = d.components
        if attoseconds == 0 || seconds >= 1_000_000 || seconds < 0 { return "\(seconds) s" }
        return "\(seconds * 1000 + attoseconds / 1_000_000_000_000_000) ms"
    }
}
