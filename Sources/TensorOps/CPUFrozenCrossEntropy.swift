import Compute
import Tensors
import Threading

/// A language model's head and its cross-entropy as one pass over the frozen output projection,
/// on the CPU. The logits of a small model's head are its largest tensor (SmolLM2 at 256 tokens:
/// 256 × 49,152 = 48 MiB); as separate ops they were written, read for the log-sum-exp, read again
/// for their gradient, which was written as a second such tensor and read by the input-gradient
/// GEMM, and W was dequantized twice. Here each worker takes tiles of W's rows and, per tile,
/// dequantizes it once, computes that tile's logits into a tile-sized buffer, and folds them into
/// a running maximum m, Σ exp(logit − m) and Σ exp(logit − m) · W_row per token (online softmax, as
/// flash attention folds its values): when a token's maximum grows, its sums are rescaled by
/// exp(old − new). At the end softmax · W = Σ exp(logit − m) · W_row / Σ exp(logit − m), and the
/// input gradient is (softmax · W − W[target]) / counted. Same GEMM work as the separate ops; the
/// logits never leave the cache.
extension CPUTensorBackend {
    public func frozenLinearCrossEntropy(_ x: Tensor, weight: Weight, targets: Tensor, ignoreIndex: Int32, inputGradient: Bool)
        -> (loss: Tensor, inputGradient: Tensor?, counted: Int)
    {
        precondition(
            x.rank == 2 && x.shape[1] == weight.columns, "frozen head of \(x.shape) with \(weight.name) [\(weight.rows), \(weight.columns)]"
        )
        precondition(
            targets.dtype == .i32 && targets.count == x.shape[0],
            "crossEntropy targets \(targets.shape) \(targets.dtype) for \(x.shape[0]) rows (expected i32 [\(x.shape[0])])")
        precondition(weight.rows > 0, "frozen head \(weight.name) has no rows")
        let rows = x.shape[0]
        if !inputGradient && (rows == 0 || (x.dtype == .f32 && frozenForward.usesQuantizedKernels(rows: rows))) {
            // Evaluation of a few tokens: the inference kernels' forward, without W's dequantized tiles.
            let logits = frozenLinear(x, weight: weight)
            let (loss, _, counted) = crossEntropy(logits: logits, targets: targets, ignoreIndex: ignoreIndex, labelSmoothing: 0)
            return (loss, nil, counted)
        }
        let (input, ids) = (contiguous(x), contiguous(targets))
        return dispatch(
            x.dtype, "frozen head cross-entropy",
            f32: { onlineHeadCrossEntropy(Float.self, input, weight, ids, ignoreIndex, inputGradient) },
            f64: { onlineHeadCrossEntropy(Double.self, input, weight, ids, ignoreIndex, inputGradient) })
    }

    func onlineHeadCrossEntropy<T: TensorScalar>(
        _: T.Type, _ x: Tensor, _ weight: Weight, _ targets: Tensor, _ ignoreIndex: Int32, _ wantsGradient: Bool
    ) -> (loss: Tensor, inputGradient: Tensor?, counted: Int) {
        let (n, inputs, width) = (x.shape[0], weight.columns, weight.rows)
        let pt = UnsafePointer(targets.address.assumingMemoryBound(to: Int32.self))
        let counted = countTargets(pt, rows: n, width: width, ignoreIndex: ignoreIndex)
        let workers = pool.threadCount
        let (tile, tiles) = Self.tiling(rows: width, columns: inputs, workers: workers)
        let sums = wantsGradient ? n * inputs : 0
        // Per worker: W's tile, the tile's logits, and per token m, Σ exp and Σ exp · W_row; and per
        // token its target's logit (exactly one tile holds it, so one worker writes each).
        let weightTiles = empty([workers, tile * inputs], dtype: x.dtype)
        let logitTiles = empty([workers, n * tile], dtype: x.dtype)
        let floats = empty([workers, inputs], dtype: .f32)
        let partials = empty([workers, 2 * n + sums], dtype: x.dtype)
        let picked = empty([max(n, 1)], dtype: x.dtype)
        let (operand, rounded) = tileOperand(T.self, x)
        let transposedPanels = tilePanels(T.self, workers: workers, n: tile, k: inputs)
        // The second product's left operand is the tile's exponentials, rounded per tile.
        let exponentialsPerWorker = n * TileOperand<T>.roundedStride(columns: tile)
        let (panels, exponentials) = (
            wantsGradient ? tilePanels(T.self, workers: workers, n: inputs, k: tile) : TilePanels(storage: nil, words: 0),
            wantsGradient && roundsTiles(T.self) ? empty([workers, exponentialsPerWorker], dtype: .bf16) : nil
        )
        let pickedLogits = picked.address.assumingMemoryBound(to: T.self)
        // Worker w's maxima [n], then its sums Σ exp [n], then its sums Σ exp · W_row [n, inputs].
        let partial = { (worker: Int) in partials.address.assumingMemoryBound(to: T.self) + worker * (2 * n + sums) }
        pool.run { worker, workerCount in
            let w = weightTiles.address.assumingMemoryBound(to: T.self) + worker * tile * inputs
            let logits = logitTiles.address.assumingMemoryBound(to: T.self) + worker * n * tile
            let temporary = floats.address.assumingMemoryBound(to: Float.self) + worker * inputs
            let (maxima, totals, weighted) = (partial(worker), partial(worker) + n, partial(worker) + 2 * n)
            maxima.update(repeating: -T.infinity, count: n)
            totals.update(repeating: 0, count: n + sums)
            for index in ThreadPool.chunk(tiles, worker, workerCount) {
                let range = index * tile..<min(width, (index + 1) * tile)
                let count = range.count
                dequantizeRows(weight, range, into: w, scratch: temporary)
                productWithTile(
                    operand, m: n, tile: w, n: count, k: inputs, transposed: true, panel: transposedPanels.panel(worker), into: logits,
                    ldc: count, accumulate: false)
                for row in 0..<n {
                    let u = logits + row * count
                    let target = Int(pt[row])
                    if range.contains(target) { pickedLogits[row] = u[target - range.lowerBound] }
                    let largest = RowReduction.maximum(u, count: count)
                    if largest > maxima[row] {
                        // exp(−∞) = 0 on a token's first tile: its sums are still zero.
                        let factor = T.exponential(maxima[row] - largest)
                        totals[row] *= factor
                        if wantsGradient && factor != 1 {
                            let sum = weighted + row * inputs
                            for i in 0..<inputs { sum[i] *= factor }
                        }
                        maxima[row] = largest
                    }
                    if wantsGradient {
                        totals[row] += VectorExponential.exponentiate(u, count: count, subtracting: maxima[row])
                    } else if largest > -T.infinity {
                        totals[row] += Self.sumOfExponentials(u, count: count, shift: maxima[row])
                    }
                }
                if wantsGradient {
                    let weights = roundedTileOperand(
                        logits, rows: n, columns: count,
                        into: exponentials.map { $0.address.assumingMemoryBound(to: UInt16.self) + worker * exponentialsPerWorker })
                    productWithTile(
                        weights, m: n, tile: w, n: inputs, k: count, transposed: false, panel: panels.panel(worker), into: weighted,
                        ldc: inputs, accumulate: true)
                }
            }
        }
        withExtendedLifetime(rounded) {}
        // Merge the workers' sums in worker order: each token's log-sum-exp, and each worker's
        // share of softmax · W as a factor exp(m_w − m) / Σ.
        let shares = empty([max(n, 1), workers], dtype: x.dtype)
        let share = shares.address.assumingMemoryBound(to: T.self)
        var lossSum = 0.0
        for row in 0..<n {
            var largest = -T.infinity
            for worker in 0..<workers { largest = max(largest, partial(worker)[row]) }
            var total = T(0)
            for worker in 0..<workers {
                let (m, s) = (partial(worker)[row], partial(worker)[n + row])
                share[row * workers + worker] = m == -T.infinity ? 0 : T.exponential(m - largest)
                total += s * share[row * workers + worker]
            }
            for worker in 0..<workers { share[row * workers + worker] /= total }
            if pt[row] != ignoreIndex { lossSum += Double(T.logarithm(total) + largest) - Double(pickedLogits[row]) }
        }
        let loss = empty([], dtype: x.dtype)
        loss.address.assumingMemoryBound(to: T.self)[0] = counted == 0 ? 0 : T(lossSum / Double(counted))
        guard wantsGradient else { return (loss, nil, counted) }

        let gradient = empty([n, inputs], dtype: x.dtype)
        let (pg, scale) = (gradient.address.assumingMemoryBound(to: T.self), counted == 0 ? T(0) : 1 / T(counted))
        let targetRow = empty([inputs], dtype: x.dtype)
        let (pw, pf) = (targetRow.address.assumingMemoryBound(to: T.self), floats.address.assumingMemoryBound(to: Float.self))
        for row in 0..<n {
            let g = pg + row * inputs
            g.update(repeating: 0, count: inputs)
            guard pt[row] != ignoreIndex, counted > 0 else { continue }
            for worker in 0..<workers {
                let (factor, sum) = (share[row * workers + worker], partial(worker) + 2 * n + row * inputs)
                if factor != 0 { for i in 0..<inputs { g[i] += factor * sum[i] } }
            }
            let target = Int(pt[row])
            dequantizeRows(weight, target..<(target + 1), into: pw, scratch: pf)
            for i in 0..<inputs { g[i] = (g[i] - pw[i]) * scale }
        }
        return (loss, gradient, counted)
    }

}
