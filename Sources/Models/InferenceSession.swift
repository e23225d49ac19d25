import Compute

/// One conversation with a model: a KV cache of `contextLength` positions, filled by
/// evaluating tokens in batches; logits come back to host memory.
public final class InferenceSession: @unchecked Sendable {
    // @unchecked: a session is driven by one thread at a time.
    public let model: any LanguageModel
    public let contextLength: Int
    public let batchCapacity: Int
    public let cache: KVCache
    public let workspace: Workspace
    /// The tokens evaluated so far, in the cache.
    public private(set) var sequence: SequenceState
    private let hostLogits: UnsafeMutableBufferPointer<Float>

    public init(model: any LanguageModel, contextLength: Int, kvType: KVCacheType = .f16, batchCapacity: Int = 512, logitRows: Int = 32)
        throws
    {
        guard contextLength >= 1 else { throw ModelError("context length \(contextLength); expected ≥ 1") }
        self.model = model
        self.contextLength = contextLength
        self.batchCapacity = max(1, min(batchCapacity, contextLength))
        let capacity = model.kvCapacity(contextLength: contextLength, batchCapacity: self.batchCapacity)
        // Checked: a context length too large for the byte count throws instead of trapping.
        cache = try model.makeKVCache(contextLength: contextLength, batchCapacity: self.batchCapacity, kvType: kvType)
        sequence = SequenceState(contextLength: contextLength, layerCapacities: capacity, slidingWindow: model.configuration.slidingWindow)
        workspace = model.makeWorkspace(batchCapacity: self.batchCapacity, logitRows: max(1, logitRows))
        hostLogits = .allocate(capacity: model.configuration.vocabularySize * max(1, logitRows))
    }

    deinit { hostLogits.deallocate() }

    public var vocabularySize: Int { model.configuration.vocabularySize }
    /// The next token goes here.
    public var position: Int { sequence.position }
    public var remainingContext: Int { contextLength - position }

    /// Forgets everything evaluated (the cache is overwritten from position 0).
    public func reset() { sequence.reset() }

    /// Moves back to `newPosition`, forgetting the tokens after it; false when a sliding-window
    /// ring has overwritten cells that position needs (`SequenceState.canRewind`).
    @discardableResult
    public func rewind(to newPosition: Int) -> Bool { sequence.rewind(to: newPosition) }

    /// Keeps the cached tokens `tokens` starts with (all but its last, or none when going back
    /// that far is impossible) and returns how many: `tokens[kept...]` is left to evaluate.
    public func keepReusablePrefix(of tokens: [Int32]) -> Int { sequence.keepReusablePrefix(of: tokens) }

    /// Evaluates `tokens` and returns a copy of the logits after the last one.
    @discardableResult
    public func evaluate(_ tokens: [Int32]) throws -> [Float] {
        try evaluate(tokens) { _, _ in }
        return Array(lastLogits)
    }

    /// Evaluates `tokens`; for every token index in `scoredIndices`, passes its logits to `body`.
    /// The logits after the last token are kept for `lastLogits` either way.
    public func evaluate(
        _ tokens: [Int32], scoredIndices: Range<Int> = 0..<0,
        _ body: (_ index: Int, _ logits: UnsafeBufferPointer<Float>) -> Void
    ) throws {
        guard !tokens.isEmpty else { return }
        guard tokens.count <= remainingContext else {
            throw ModelError(
                "context full: \(position) tokens are in the context and \(tokens.count) more do not fit in --ctx \(contextLength)")
        }
        let vocabulary = vocabularySize
        if let bad = tokens.first(where: { $0 < 0 || Int($0) >= vocabulary }) {
            throw ModelError("token id \(bad) is outside the vocabulary (0…\(vocabulary - 1))")
        }
        var start = 0
        while start < tokens.count {
            let batch = Array(tokens[start..<min(start + batchCapacity, tokens.count)])
            model.forward(batch, firstPosition: position, cache: cache, workspace: workspace)
            sequence.append(batch)
            let batchRange = start..<(start + batch.count)
            var wanted = scoredIndices.clamped(to: batchRange)
            let isLastBatch = batchRange.upperBound == tokens.count
            if isLastBatch && !wanted.contains(tokens.count - 1) {
                wanted = wanted.isEmpty ? (tokens.count - 1)..<tokens.count : wanted.lowerBound..<tokens.count
            }
            var row = wanted.lowerBound
            while row < wanted.upperBound {
                let count = min(workspace.logitRows, wanted.upperBound - row)
                let local = (row - start)..<(row - start + count)
                model.logits(rows: local, workspace: workspace)
                model.backend.read(workspace("logits", rows: count), rows: 0..<count, into: hostLogits.baseAddress!)
                for i in 0..<count where scoredIndices.contains(row + i) {
                    body(row + i, UnsafeBufferPointer(rebasing: hostLogits[(i * vocabulary)..<((i + 1) * vocabulary)]))
                }
                if row + count == tokens.count && isLastBatch, count > 1 {
                    // Keep the final row at the front, where `lastLogits` reads it.
                    hostLogits.baseAddress!.update(from: hostLogits.baseAddress! + (count - 1) * vocabulary, count: vocabulary)
                }
                row += count
            }
            start += batch.count
        }
    }

    /// The logits after the most recently evaluated token, without a copy: valid while this
    /// session is alive and until the next evaluation.
    public var lastLogits: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(rebasing: hostLogits[0..<vocabularySize]) }
}
