import Compute

/// A decoder-only language model: evaluates a batch of tokens at consecutive positions,
/// extending a KV cache, and turns the final hidden states into logits on request.
public protocol LanguageModel: AnyObject, Sendable {
    var configuration: ModelConfiguration { get }
    var backend: any ComputeBackend { get }

    /// Scratch space for batches of up to `batchCapacity` tokens and `logitRows` logit rows.
    func makeWorkspace(batchCapacity: Int, logitRows: Int) -> Workspace
    /// KV cells per layer for a context of `contextLength` tokens evaluated in batches of
    /// `batchCapacity` (sliding-window layers need less than the full context).
    func kvCapacity(contextLength: Int, batchCapacity: Int) -> [Int]

    /// Runs `tokens` (at most the workspace's batch capacity), each span's rows at positions
    /// `firstPosition…` of its own cache, writing their keys and values there and leaving the final
    /// normalised hidden states in `workspace.hidden`.
    func forward(_ tokens: [Int32], spans: [SequenceSpan], workspace: Workspace)
    /// Logits for `rows` (at most `workspace.logitRows`, any rows of the last batch, in any order)
    /// into the first rows of `workspace.logits`, in the order given.
    func logits(rows: [Int], workspace: Workspace)
}

/// Consecutive rows of a batch that belong to one sequence: its KV cache and the position of its
/// first row. A batch of several spans runs every matrix multiply once for all of them (continuous
/// batching); only RoPE, the KV store and attention go span by span.
public struct SequenceSpan: @unchecked Sendable {
    public var rows: Range<Int>
    public var cache: KVCache
    public var firstPosition: Int

    public init(rows: Range<Int>, cache: KVCache, firstPosition: Int) {
        self.rows = rows
        self.cache = cache
        self.firstPosition = firstPosition
    }
}

extension LanguageModel {
    /// Logits for consecutive rows of the last batch.
    public func logits(rows: Range<Int>, workspace: Workspace) { logits(rows: Array(rows), workspace: workspace) }

    /// One sequence: `tokens` at positions `firstPosition…`.
    public func forward(_ tokens: [Int32], firstPosition: Int, cache: KVCache, workspace: Workspace) {
        forward(tokens, spans: [SequenceSpan(rows: 0..<tokens.count, cache: cache, firstPosition: firstPosition)], workspace: workspace)
    }
}

/// Activation buffers reused across batches, sized once.
public final class Workspace: @unchecked Sendable {
    // @unchecked: owned by one session, used by one thread at a time.
    public let batchCapacity: Int
    public let logitRows: Int
    public let buffers: [String: Matrix]

    public init(batchCapacity: Int, logitRows: Int, buffers: [String: Matrix]) {
        self.batchCapacity = batchCapacity
        self.logitRows = logitRows
        self.buffers = buffers
    }

    /// The named buffer, trimmed to `rows` rows.
    public func callAsFunction(_ name: String, rows: Int) -> Matrix { buffers[name]!.prefix(rows: rows) }

    public var byteCount: Int { buffers.values.reduce(0) { $0 + $1.buffer.byteCount } }
}
