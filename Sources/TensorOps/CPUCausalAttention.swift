import Tensors
import Threading

/// Fused causal self-attention on the CPU: one task per (batch, head) in the forward pass and per
/// (batch, key/value head) in the backward pass (the query heads that share a key/value head add
/// into its gradients, so they stay in one task). Products are OpenBLAS GEMMs straight on the
/// [B, T, heads, D] views (a head's rows are D dense elements one time-stride apart, which is a
/// leading dimension), split into row blocks so the masked upper triangle is mostly skipped.
extension CPUTensorBackend {
    public func causalAttention(query: Tensor, key: Tensor, value: Tensor, scale: Double) -> (output: Tensor, weights: Tensor) {
        let shape = AttentionShape(query: query, key: key, value: value)
        precondition(query.dtype == key.dtype && key.dtype == value.dtype, "attention of \(query.dtype), \(key.dtype), \(value.dtype)")
        return dispatch(
            query.dtype, "causalAttention",
            f32: { attentionForward(Float.self, shape, headRows(query), headRows(key), headRows(value), scale) },
            f64: { attentionForward(Double.self, shape, headRows(query), headRows(key), headRows(value), scale) })
    }

    public func causalAttentionBackward(gradient: Tensor, query: Tensor, key: Tensor, value: Tensor, weights: Tensor, scale: Double)
        -> (query: Tensor, key: Tensor, value: Tensor)
    {
        let shape = AttentionShape(query: query, key: key, value: value)
        precondition(gradient.shape == query.shape, "attention gradient \(gradient.shape) for output \(query.shape)")
        precondition(
            weights.shape == [shape.batch, shape.heads, shape.time, shape.time], "attention weights \(weights.shape) for \(shape)")
        let operands = (headRows(gradient), headRows(query), headRows(key), headRows(value), contiguous(weights))
        return dispatch(
            query.dtype, "causalAttentionBackward",
            f32: { attentionBackward(Float.self, shape, operands, scale) },
            f64: { attentionBackward(Double.self, shape, operands, scale) })
    }

    /// `x` itself when each head's row (the last axis) is dense and rows do not overlap, else a
    /// contiguous copy: what GEMM needs to read a head's [T, D] matrix in place.
    private func headRows(_ x: Tensor) -> Tensor {
        if x.strides[3] == 1 && x.strides[1] >= max(1, x.shape[3]) { return x }
        return contiguous(x)
    }

    /// Rows per GEMM block: row block [r0, r1) needs only key columns [0, r1), so at T = 256 the
    /// products cover 5/8 of the full square instead of all of it. Measured (AttentionTimings, f32,
    /// one thread's CPU time, best of 20, on a shared 2-core Xeon, so ±15 %): B=8 T=256 H=6 D=64
    /// forward 10.3–13.3 ms with blocks of 16, 32 or 64 rows, 14.4 ms with one block of 256;
    /// backward 11.3–17 ms (16–64 rows), 17–24 ms (256). B=12 T=64 H=4 D=32: 0.52–0.68 ms forward,
    /// 0.50–0.56 ms backward whatever the block. Plain SIMD loops instead of GEMM (dot-product
    /// scores, 16-lane broadcast-FMA weighted sums, skipping the masked triangle exactly) took
    /// 23.7 ms and 1.01 ms forward: OpenBLAS's AVX-512 kernels beat our x86-64-v3 (AVX2) code.
    static func attentionRowBlock(time: Int) -> Int { min(time, 64) }

    /// Runs `body(tasks, worker)` over `0..<count`, split over the pool when `work` (multiply-adds)
    /// justifies waking it; `worker` indexes the caller's per-worker scratch.
    private func forEachAttentionTask(_ count: Int, work: Int, _ body: (Range<Int>, Int) -> Void) {
        if work < CPUTensorBackend.parallelThreshold * 16 || pool.threadCount == 1 || count == 1 {
            body(0..<count, 0)
            return
        }
        pool.run { worker, workers in
            let range = ThreadPool.chunk(count, worker, workers)
            if !range.isEmpty { body(range, worker) }
        }
    }

    private func attentionForward<T: TensorScalar>(
        _: T.Type, _ shape: AttentionShape, _ query: Tensor, _ key: Tensor, _ value: Tensor, _ scale: Double
    ) -> (output: Tensor, weights: Tensor) {
        let (batch, time, heads, width) = (shape.batch, shape.time, shape.heads, shape.width)
        let output = empty([batch, time, heads, width], dtype: query.dtype)
        let weights = empty([batch, heads, time, time], dtype: query.dtype)
        if output.count == 0 || weights.count == 0 {
            return (zeros(output.shape, dtype: query.dtype), zeros(weights.shape, dtype: query.dtype))
        }
        let (q, k, v) = (HeadMatrices<T>(query), HeadMatrices<T>(key), HeadMatrices<T>(value))
        let (o, p) = (output.address.assumingMemoryBound(to: T.self), weights.address.assumingMemoryBound(to: T.self))
        let (group, block, alpha) = (shape.group, CPUTensorBackend.attentionRowBlock(time: time), T(scale))
        forEachAttentionTask(batch * heads, work: batch * heads * time * time * width) { tasks, _ in
            for task in tasks {
                let (b, h) = task.quotientAndRemainder(dividingBy: heads)
                let (qh, kh, vh) = (q.head(b, h), k.head(b, h / group), v.head(b, h / group))
                let (oh, ph) = (o + (b * time * heads + h) * width, p + task * time * time)
                for r0 in stride(from: 0, to: time, by: block) {
                    let r1 = min(time, r0 + block)
                    T.gemm(
                        transposeA: false, transposeB: true, m: r1 - r0, n: r1, k: width, alpha: alpha,
                        a: qh + r0 * q.rowStride, lda: q.rowStride, b: kh, ldb: k.rowStride, beta: 0, c: ph + r0 * time, ldc: time)
                    for i in r0..<r1 { causalSoftmaxRow(ph + i * time, through: i, length: time) }
                    T.gemm(
                        transposeA: false, transposeB: false, m: r1 - r0, n: width, k: r1, alpha: 1,
                        a: ph + r0 * time, lda: time, b: vh, ldb: v.rowStride, beta: 0, c: oh + r0 * heads * width, ldc: heads * width)
                }
            }
        }
        return (output, weights)
    }

    /// Softmax of `row[0...last]` in place; the masked rest of the row (up to `length`) becomes 0.
    @inline(__always)
    private func causalSoftmaxRow<T: TensorScalar>(_ row: UnsafeMutablePointer<T>, through last: Int, length: Int) {
        let largest = VectorExponential.maximum(row, count: last + 1)
        let total = VectorExponential.exponentiate(row, count: last + 1, subtracting: largest)
        let inverse = 1 / total
        for j in 0...last { row[j] *= inverse }
        for j in (last + 1)..<length { row[j] = 0 }
    }

    private func attentionBackward<T: TensorScalar>(
        _: T.Type, _ shape: AttentionShape, _ operands: (Tensor, Tensor, Tensor, Tensor, Tensor), _ scale: Double
    ) -> (query: Tensor, key: Tensor, value: Tensor) {
        let (gradient, query, key, value, weights) = operands
        let (batch, time, heads, kvHeads, width) = (shape.batch, shape.time, shape.heads, shape.kvHeads, shape.width)
        let queryGradient = empty(query.shape, dtype: query.dtype)
        let keyGradient = zeros(key.shape, dtype: key.dtype)
        let valueGradient = zeros(value.shape, dtype: value.dtype)
        if queryGradient.count == 0 || keyGradient.count == 0 {
            return (zeros(query.shape, dtype: query.dtype), keyGradient, valueGradient)
        }
        let block = CPUTensorBackend.attentionRowBlock(time: time)
        // One block of dP/dS rows per worker.
        let scratch = empty([pool.threadCount, block * time], dtype: query.dtype)
        let (q, k, v, dO) = (HeadMatrices<T>(query), HeadMatrices<T>(key), HeadMatrices<T>(value), HeadMatrices<T>(gradient))
        let p = weights.address.assumingMemoryBound(to: T.self)
        let dq = queryGradient.address.assumingMemoryBound(to: T.self)
        let (dk, dv) = (keyGradient.address.assumingMemoryBound(to: T.self), valueGradient.address.assumingMemoryBound(to: T.self))
        let scratchBase = scratch.address.assumingMemoryBound(to: T.self)
        let (group, alpha) = (shape.group, T(scale))
        forEachAttentionTask(batch * kvHeads, work: 2 * batch * heads * time * time * width) { tasks, worker in
            let ds = scratchBase + worker * block * time
            for task in tasks {
                let (b, kvHead) = task.quotientAndRemainder(dividingBy: kvHeads)
                let (kh, vh) = (k.head(b, kvHead), v.head(b, kvHead))
                let (dkh, dvh) = (dk + (b * time * kvHeads + kvHead) * width, dv + (b * time * kvHeads + kvHead) * width)
                for h in (kvHead * group)..<((kvHead + 1) * group) {
                    let (qh, dOh) = (q.head(b, h), dO.head(b, h))
                    let (ph, dqh) = (p + (b * heads + h) * time * time, dq + (b * time * heads + h) * width)
                    for r0 in stride(from: 0, to: time, by: block) {
                        let (r1, rows) = (min(time, r0 + block), min(time, r0 + block) - r0)
                        // dP = dO·Vᵀ, then dS = P ⊙ (dP − rowsum(dP ⊙ P)) in place.
                        T.gemm(
                            transposeA: false, transposeB: true, m: rows, n: r1, k: width, alpha: 1,
                            a: dOh + r0 * dO.rowStride, lda: dO.rowStride, b: vh, ldb: v.rowStride, beta: 0, c: ds, ldc: time)
                        for i in r0..<r1 { softmaxGradientRow(ds + (i - r0) * time, weights: ph + i * time, through: i, length: r1) }
                        // dQ = scale·dS·K;  dK += scale·dSᵀ·Q;  dV += Pᵀ·dO.
                        T.gemm(
                            transposeA: false, transposeB: false, m: rows, n: width, k: r1, alpha: alpha,
                            a: ds, lda: time, b: kh, ldb: k.rowStride, beta: 0, c: dqh + r0 * heads * width, ldc: heads * width)
                        T.gemm(
                            transposeA: true, transposeB: false, m: r1, n: width, k: rows, alpha: alpha,
                            a: ds, lda: time, b: qh + r0 * q.rowStride, ldb: q.rowStride, beta: 1, c: dkh, ldc: kvHeads * width)
                        T.gemm(
                            transposeA: true, transposeB: false, m: r1, n: width, k: rows, alpha: 1,
                            a: ph + r0 * time, lda: time, b: dOh + r0 * dO.rowStride, ldb: dO.rowStride, beta: 1, c: dvh,
                            ldc: kvHeads * width)
                    }
                }
            }
        }
        return (queryGradient, keyGradient, valueGradient)
    }

    /// `row[j] = p[j]·(row[j] − Σ p·row)` for j ≤ `last`, 0 for the masked rest up to `length`.
    @inline(__always)
    private func softmaxGradientRow<T: TensorScalar>(
        _ row: UnsafeMutablePointer<T>, weights p: UnsafePointer<T>, through last: Int, length: Int
    ) {
        let dot = AttentionRow.dot(p, row, count: last + 1)
        for j in 0...last { row[j] = p[j] * (row[j] - dot) }
        for j in (last + 1)..<length { row[j] = 0 }
    }
}

/// The dot product of a softmax row and its gradient, eight lanes at a time (a plain loop of floating-point
/// additions cannot be reordered by the compiler, so it would run one element at a time).
enum AttentionRow {
    @inline(__always)
    static func load<T: TensorScalar>(_ p: UnsafePointer<T>, _ index: Int) -> SIMD8<T> {
        UnsafeRawPointer(p + index).loadUnaligned(as: SIMD8<T>.self)
    }

    /// Σ p[i]·q[i].
    @inline(__always)
    static func dot<T: TensorScalar>(_ p: UnsafePointer<T>, _ q: UnsafePointer<T>, count: Int) -> T {
        var lanes = SIMD8<T>()
        var i = 0
        while i + 8 <= count {
            lanes.addProduct(load(p, i), load(q, i))
            i += 8
        }
        var total = lanes.sum()
        while i < count {
            total += p[i] * q[i]
            i += 1
        }
        return total
    }
}

/// The sizes of one attention call, checked once: query [B, T, H, D], key and value [B, T, Hkv, D].
struct AttentionShape: CustomStringConvertible {
    let batch: Int, time: Int, heads: Int, kvHeads: Int, width: Int
    /// Query heads per key/value head.
    var group: Int { heads / kvHeads }

    init(query: Tensor, key: Tensor, value: Tensor) {
        precondition(
            query.rank == 4 && key.rank == 4 && key.shape == value.shape,
            "attention needs query [B, T, H, D] and key, value [B, T, Hkv, D]: \(query.shape), \(key.shape), \(value.shape)")
        (batch, time, heads, width) = (query.shape[0], query.shape[1], query.shape[2], query.shape[3])
        kvHeads = key.shape[2]
        precondition(
            key.shape[0] == batch && key.shape[1] == time && key.shape[3] == width && kvHeads > 0 && heads % kvHeads == 0,
            "attention key/value \(key.shape) do not match query \(query.shape) (heads must be a multiple of key/value heads)")
    }

    var description: String { "[B \(batch), T \(time), H \(heads), Hkv \(kvHeads), D \(width)]" }
}

/// A [B, T, heads, D] tensor read head by head: the address of (b, t = 0, head, d = 0) and the
/// step between time rows.
struct HeadMatrices<T: TensorScalar> {
    let base: UnsafeMutablePointer<T>
    let batchStride: Int, headStride: Int, rowStride: Int

    init(_ x: Tensor) {
        base = x.address.assumingMemoryBound(to: T.self)
        (batchStride, rowStride, headStride) = (x.strides[0], x.strides[1], x.strides[2])
    }

    @inline(__always) func head(_ b: Int, _ h: Int) -> UnsafeMutablePointer<T> { base + b * batchStride + h * headStride }
}
