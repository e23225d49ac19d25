import GGUF

/// The seam between model code and hardware. Models express their forward pass only in these
/// operations on `Matrix` activations (rows = tokens) and `Weight`s; the CPU backend runs
/// them here, and a GPU backend implements the same list on device memory.
public protocol ComputeBackend: AnyObject, Sendable {
    var name: String { get }

    /// Makes a GGUF tensor usable (CPU: a view of the mapped file; GPU: an upload).
    /// Throws for a tensor type the backend cannot multiply, naming it.
    func makeWeight(name: String, type: GGMLType, dimensions: [Int64], bytes: UnsafeRawBufferPointer, owner: AnyObject) throws -> Weight
    func makeMatrix(rows: Int, columns: Int) -> Matrix
    /// True when no weight made by `makeWeight` points into the file it came from, so the file's
    /// mapped pages can be released once the model is loaded.
    var copiesWeights: Bool { get }
    func makeKVCache(type: KVCacheType, width: Int, contextLength: Int, capacity: [Int]) -> KVCache

    /// `output[i] = scale × table[tokens[i]]`.
    func embed(_ tokens: [Int32], table: Weight, scale: Float, into output: Matrix)
    /// Per row: `x / sqrt(mean(x²) + ε) ⊙ weight`, where the row is split into `groups` equal
    /// parts normalised separately (groups = heads gives per-head QK-norm).
    func rmsNorm(_ x: Matrix, weight: Weight, epsilon: Float, groups: Int, into output: Matrix)
    /// `output = x · Wᵀ`: output[b][r] = dot(W row r, x row b).
    func matmul(_ weight: Weight, _ x: Matrix, into output: Matrix)
    /// `outputs[i] = x · weights[i]ᵀ` for projections of one input (Q/K/V, gate/up), which a
    /// backend may run as one operation.
    func matmul(_ weights: [Weight], _ x: Matrix, into outputs: [Matrix])
    /// Rotates each head of each row; row i is at position `firstPosition + i`.
    func rope(_ x: Matrix, headDim: Int, firstPosition: Int, parameters: RopeParameters)
    /// Writes rows of keys and values for positions `firstPosition…` of `layer`.
    func storeKV(keys: Matrix, values: Matrix, cache: KVCache, layer: Int, firstPosition: Int)
    /// Copies the keys and values of `positions` in every layer from `source` into `destination`
    /// (same type and width): a sequence that starts with tokens another sequence already holds
    /// takes their cells instead of recomputing them. The caller guarantees `source` still holds
    /// those positions (no ring has overwritten them).
    func copyKV(positions: Range<Int>, from source: KVCache, to destination: KVCache)
    /// Causal (optionally windowed) attention of query rows at positions `firstPosition…`
    /// over the cached keys and values of `layer`.
    func attention(queries: Matrix, cache: KVCache, layer: Int, firstPosition: Int, shape: AttentionShape, into output: Matrix)
    /// `attention` for several sequences at once (a server's decode pass: one row per sequence),
    /// which a backend may run as one operation. Each span's result is what `attention` gives it.
    func attention(_ spans: [AttentionSpan], layer: Int, shape: AttentionShape)
    /// `output = activation(gate) ⊙ up`.
    func gatedActivation(_ activation: GatedActivation, gate: Matrix, up: Matrix, into output: Matrix)
    /// `accumulator += x`.
    func add(_ x: Matrix, into accumulator: Matrix)
    /// Copies `rows` of `x` into the first rows of `output`, both in this backend's memory (a GPU
    /// backend copies on the device; no host round trip).
    func copyRows(_ x: Matrix, rows: Range<Int>, into output: Matrix)
    /// Copies rows to host memory.
    func read(_ x: Matrix, rows: Range<Int>, into destination: UnsafeMutablePointer<Float>)
}

public enum GatedActivation: Sendable {
    /// SiLU(x) = x·σ(x): SwiGLU (Llama).
    case silu
    /// GELU with the tanh approximation: GeGLU (Gemma).
    case geluTanh
}

extension ComputeBackend {
    public func matmul(_ weights: [Weight], _ x: Matrix, into outputs: [Matrix]) {
        for (weight, output) in zip(weights, outputs) { matmul(weight, x, into: output) }
    }

    public func attention(_ spans: [AttentionSpan], layer: Int, shape: AttentionShape) {
        for span in spans {
            attention(
                queries: span.queries, cache: span.cache, layer: layer, firstPosition: span.firstPosition, shape: shape, into: span.output)
        }
    }
}
