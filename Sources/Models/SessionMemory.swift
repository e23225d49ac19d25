import Compute

/// What a session allocates besides the weights, computed before anything is allocated, with
/// checked arithmetic: a context length from the command line or a file can be anything.
extension LanguageModel {
    /// Bytes that `sequences` sequences of `contextLength` tokens each allocate: every sequence's
    /// KV cache (`kvCapacity` cells per layer, keys and values, `kvType` elements), and per
    /// sequence the activation workspace for batches of `min(batchCapacity, contextLength)` tokens
    /// with `logitRows` rows of logits plus the host copy of those logits — what an
    /// `InferenceSession` with the same arguments allocates (a server's slots share one workspace,
    /// so for them this is an upper bound). Backend scratch is not included: the CPU backend's
    /// attention scratch per thread is about 16 × (query heads per KV head) bytes per cached key.
    ///
    /// Throws `ModelError` of kind `.tooLarge` when the total does not fit in an `Int` or the
    /// context exceeds `HyperparameterLimits.contextLength`, `.invalid` for counts below 1.
    public func sessionBytes(
        contextLength: Int, sequences: Int = 1, kvType: KVCacheType = .f16, batchCapacity: Int = 512, logitRows: Int = 32
    ) throws -> Int {
        try checkSessionArguments(contextLength: contextLength, sequences: sequences, batchCapacity: batchCapacity, logitRows: logitRows)
        let c = configuration
        let kv = try kvCacheBytes(contextLength: contextLength, batchCapacity: batchCapacity, kvType: kvType)
        let rows = min(batchCapacity, contextLength)
        let batchWidths = 4 * c.embeddingLength + 2 * c.queryWidth + 2 * c.kvWidth + 2 * c.feedForwardLength
        let logitWidths = c.embeddingLength + 2 * c.vocabularySize  // selected hidden states, logits, host copy
        guard let batch = CheckedSize.product(rows, batchWidths, 4), let logits = CheckedSize.product(logitRows, logitWidths, 4),
            let workspace = CheckedSize.sum(batch, logits),
            let perSequence = CheckedSize.sum(kv, workspace), let total = CheckedSize.product(perSequence, sequences)
        else {
            throw ModelError.tooLarge(
                "\(sequences) sequences of \(contextLength) tokens need more bytes than an Int can count "
                    + "(\(kv) bytes of KV cache per sequence)")
        }
        return total
    }

    /// One sequence's KV cache, sized with checked arithmetic first: a context too long for the
    /// byte count throws instead of trapping.
    public func makeKVCache(contextLength: Int, batchCapacity: Int, kvType: KVCacheType) throws -> KVCache {
        try checkSessionArguments(contextLength: contextLength, sequences: 1, batchCapacity: batchCapacity, logitRows: 1)
        _ = try kvCacheBytes(contextLength: contextLength, batchCapacity: batchCapacity, kvType: kvType)
        let capacity = kvCapacity(contextLength: contextLength, batchCapacity: batchCapacity)
        guard
            let cache = backend.makeCheckedKVCache(
                type: kvType, width: configuration.kvWidth, contextLength: contextLength, capacity: capacity)
        else { throw ModelError.tooLarge("KV cache for \(contextLength) tokens does not fit in a byte count") }
        return cache
    }

    private func kvCacheBytes(contextLength: Int, batchCapacity: Int, kvType: KVCacheType) throws -> Int {
        let c = configuration
        let capacity = kvCapacity(contextLength: contextLength, batchCapacity: batchCapacity)
        guard let bytes = KVCache.byteCount(type: kvType, width: c.kvWidth, capacity: capacity) else {
            throw ModelError.tooLarge(
                "KV cache for \(contextLength) tokens (\(c.blockCount) layers × \(c.kvWidth) \(kvType.rawValue) values for keys and "
                    + "values per token) needs more bytes than an Int can count")
        }
        return bytes
    }

    private func checkSessionArguments(contextLength: Int, sequences: Int, batchCapacity: Int, logitRows: Int) throws {
        let limit = HyperparameterLimits.contextLength
        guard contextLength >= 1 else { throw ModelError("context length \(contextLength); expected ≥ 1") }
        guard contextLength <= limit.upperBound else {
            throw ModelError.tooLarge(
                "context length \(contextLength) exceeds \(limit.upperBound) tokens, the most positions RoPE tells apart in float32")
        }
        guard sequences >= 1 else { throw ModelError("\(sequences) sequences; expected ≥ 1") }
        guard batchCapacity >= 1 else { throw ModelError("batch capacity \(batchCapacity); expected ≥ 1") }
        guard logitRows >= 1 else { throw ModelError("\(logitRows) logit rows; expected ≥ 1") }
    }
}
