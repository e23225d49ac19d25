/// What one sequence's KV cache holds and what it can still do with it: the tokens whose keys and
/// values are in the cache, in position order, and the rules for reusing them. A chat session, a
/// conversation and a server slot all keep a prefix of the cached tokens when a new token list
/// shares it, and evaluate only the rest.
///
/// A sliding-window layer keeps its keys and values in a ring of fewer cells than the context
/// (position p in cell p mod capacity), so positions older than its capacity are overwritten;
/// `writtenEnd` remembers how far writing went, which bounds how far back the sequence can go.
public struct SequenceState: Sendable {
    public let contextLength: Int
    /// Cells per layer: the context length, or fewer for a sliding-window layer kept as a ring.
    public let layerCapacities: [Int]
    /// The positions a sliding-window layer attends over (query q sees keys k with q − k < window).
    public let slidingWindow: Int?
    /// The tokens in the cache; the next token goes at `position`.
    public private(set) var tokens: [Int32] = []
    /// One past the highest position whose keys and values were ever written since `reset()`.
    public private(set) var writtenEnd = 0

    public init(contextLength: Int, layerCapacities: [Int], slidingWindow: Int?) {
        self.contextLength = contextLength
        self.layerCapacities = layerCapacities
        self.slidingWindow = slidingWindow
    }

    public var position: Int { tokens.count }

    /// Records tokens whose keys and values were just written (evaluated, or copied from another
    /// cache) at the next positions.
    public mutating func append(_ newTokens: some Sequence<Int32>) {
        tokens.append(contentsOf: newTokens)
        writtenEnd = max(writtenEnd, tokens.count)
    }

    /// Forgets everything: the cache is written again from position 0.
    public mutating func reset() {
        tokens.removeAll(keepingCapacity: true)
        writtenEnd = 0
    }

    /// Whether the sequence can go back to `newPosition` and continue from there. A ring layer
    /// needs the `window` positions before it, so it can go back at most its slack
    /// (capacity − window) from the furthest position written: older cells are overwritten.
    public func canRewind(to newPosition: Int) -> Bool {
        guard (0...position).contains(newPosition) else { return false }
        for capacity in layerCapacities where capacity < contextLength {
            guard let window = slidingWindow, writtenEnd - newPosition <= capacity - window else { return false }
        }
        return true
    }

    /// Goes back to `newPosition`, forgetting the tokens after it; false (and nothing changed)
    /// when `canRewind(to:)` says it cannot.
    @discardableResult
    public mutating func rewind(to newPosition: Int) -> Bool {
        guard canRewind(to: newPosition) else { return false }
        tokens.removeLast(tokens.count - newPosition)
        return true
    }

    /// How many leading tokens `tokens` and `other` have in common.
    public func sharedPrefixLength(with other: some Sequence<Int32>) -> Int {
        Self.sharedPrefixLength(tokens, other)
    }

    public static func sharedPrefixLength(_ a: some Sequence<Int32>, _ b: some Sequence<Int32>) -> Int {
        var n = 0
        for (x, y) in zip(a, b) {
            guard x == y else { break }
            n += 1
        }
        return n
    }

    /// How many of `prompt`'s tokens can come from the cache: the shared prefix, without the
    /// prompt's last token (it must be evaluated: its logits start the answer), or 0 when going
    /// back that far is impossible.
    public func reusablePrefix(of prompt: [Int32]) -> Int {
        let shared = min(sharedPrefixLength(with: prompt), prompt.count - 1)
        return canRewind(to: max(0, shared)) ? max(0, shared) : 0
    }

    /// Keeps `reusablePrefix(of: prompt)` tokens (starting over when it is 0 because going back
    /// is impossible) and returns how many; `prompt[kept...]` is what remains to evaluate.
    @discardableResult
    public mutating func keepReusablePrefix(of prompt: [Int32]) -> Int {
        let kept = reusablePrefix(of: prompt)
        if !rewind(to: kept) { reset() }
        return kept
    }

    /// Whether every position below `end` is still in the cache: no ring layer has wrapped by
    /// then, so another sequence may copy any prefix up to `end`.
    public func holdsEveryPosition(below end: Int) -> Bool {
        layerCapacities.allSatisfy { $0 >= end }
    }
}
