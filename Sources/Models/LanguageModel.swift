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

    /// Runs `tokens` (at most the workspace's batch capacity) at positions
    /// `firstPosition…`, writing their keys and values into `cache` and leaving the final
    /// normalised hidden states in `workspace.hidden`.
    func forward(_ tokens: [Int32], firstPosition: Int, cache: KVCache, workspace: Workspace)
    /// Logits for `rows` (at most `workspace.logitRows`) of the last batch, into `workspace.logits`.
    func logits(rows: Range<Int>, workspace: Workspace)
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
