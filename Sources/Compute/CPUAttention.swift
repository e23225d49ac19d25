import CPrefetch
// Causal (optionally windowed) attention over the KV cache: per query row, every score, then the
// softmax weights, then the weighted values — the same three passes for a prompt and for a decode step.
import Threading

#if canImport(Glibc)
import Glibc
#endif
#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

extension CPUBackend {
    /// Consecutive query rows per task: they share each cached key and value row's conversion.
    static let attentionRowTile = 4

    /// Keys converted from the cache at a time.
    static let keyBlock = 32

    /// The oldest position a query at `position` attends to: inside the window, and not older than
    /// the cells a ring of `capacity` still holds.
    @inline(__always)
    static func firstVisible(position: Int, capacity: Int, window: Int?) -> Int {
        max(0, position - capacity + 1, window.map { position - $0 + 1 } ?? 0)
    }

    public func attention(queries: Matrix, cache: KVCache, layer: Int, firstPosition: Int, shape: AttentionShape, into output: Matrix) {
        attention([AttentionSpan(queries: queries, cache: cache, firstPosition: firstPosition, output: output)], layer: layer, shape: shape)
    }

    /// One dispatch for every span: each is cut into tiles of up to `attentionRowTile` consecutive
    /// rows, and there is one task per (tile, KV head, part of that KV head's query heads). A task
    /// takes every query head that shares its KV head, so each cached key and value is converted
    /// from f16 once for the group (3 query heads × 4 rows in SmolLM2) instead of once per head and
    /// row: on Zen 1 a `vcvtph2ps` costs about as much as the multiply-add it feeds. When that
    /// leaves fewer tasks than threads (one decode row of Gemma 3 270M, whose 4 query heads share 1
    /// KV head) the group is split into parts.
    ///
    /// A row's arithmetic is the same in any tile, task or part (the f16 conversion is exact, and
    /// every score, softmax and weighted sum is computed per row in key order), so its result does
    /// not depend on how the prompt was chunked, which rows share its tile, or what else is in the
    /// batch: `run`, `chat` and a server slot give a prompt the same logits by construction.
    public func attention(_ spans: [AttentionSpan], layer: Int, shape: AttentionShape) {
        let spans = spans.filter { $0.queries.rows > 0 }
        guard !spans.isEmpty else { return }
        let group = shape.heads / shape.kvHeads, tile = Self.attentionRowTile
        var firstTask: [Int] = []
        var tiles = 0
        for span in spans {
            firstTask.append(tiles)
            tiles += (span.queries.rows + tile - 1) / tile
        }
        let parts = min(group, max(1, (pool.threadCount + tiles * shape.kvHeads - 1) / (tiles * shape.kvHeads)))
        let perTile = shape.kvHeads * parts
        firstTask = firstTask.map { $0 * perTile }
        let tasks = tiles * perTile
        // The most keys a tile reads: its first row's visible keys plus one per further row.
        let keys = spans.map { min($0.cache.capacity[layer], $0.firstPosition + $0.queries.rows) }.max()! + tile
        ensureWorkerScratch(floats: Self.tileScratchFloats(tile: tile, group: group, headDim: shape.headDim, keys: keys))
        pool.run { worker, workers in
            let scratch = workerScratch[worker].address.assumingMemoryBound(to: Float.self)
            var s = 0
            for task in ThreadPool.chunk(tasks, worker, workers) {
                while s + 1 < spans.count && task >= firstTask[s + 1] { s += 1 }
                let (tileIndex, rest) = (task - firstTask[s]).quotientAndRemainder(dividingBy: perTile)
                let (kvHead, part) = rest.quotientAndRemainder(dividingBy: parts)
                let rows = (tileIndex * tile)..<min(tileIndex * tile + tile, spans[s].queries.rows)
                let heads = ThreadPool.chunk(group, part, parts)
                Self.attendTile(spans[s], rows: rows, kvHead: kvHead, heads: heads, layer: layer, shape: shape, scratch: scratch)
            }
        }
    }

    /// Floats of worker scratch `attendTile` needs for `tile` rows × `group` heads reading `keys` keys.
    static func tileScratchFloats(tile: Int, group: Int, headDim: Int, keys: Int) -> Int {
        tile * group * (2 * headDim + keys + 1) + keyBlock * headDim + 8
    }

    /// Attention of query rows `rows` of a span, for query heads `heads` (indices within the group of
    /// `kvHead`), in three passes over blocks of `keyBlock` keys: every score (four keys at a time,
    /// four independent dot products), the softmax weights of each row with a vector exp, then each
    /// row's weighted values, 32 lanes of a head at a time held in registers across a block. The
    /// tile reads keys from the first row's oldest visible one to the last row's own; each f16 block
    /// is converted once into f32 for all rows and heads, and every row uses only the keys it sees.
    ///
    /// Queries stay f32 against an f16 cache: keys are widened to f32 exactly, so rounding the query
    /// to f16 as ggml's non-flash path does is one more rounding away from the exact math. Measured
    /// against the float64 reference (docs/FIDELITY.md) the two are indistinguishable — mean KL over
    /// four model × text cases 0.004465 rounded, 0.004505 not, each case moving either way by less
    /// than its own noise — so the simpler, exact-er arithmetic stays.
    static func attendTile(
        _ span: AttentionSpan, rows: Range<Int>, kvHead: Int, heads: Range<Int>, layer: Int,
        shape: AttentionShape, scratch: UnsafeMutablePointer<Float>
    ) {
        let headDim = shape.headDim, cache = span.cache, group = heads.count, tileRows = rows.count
        let firstHead = kvHead * (shape.heads / shape.kvHeads) + heads.lowerBound
        let capacity = cache.capacity[layer], width = cache.width
        @inline(__always) func visible(_ row: Int) -> ClosedRange<Int> {
            let position = span.firstPosition + row
            return firstVisible(position: position, capacity: capacity, window: shape.window)...position
        }
        let first = visible(rows.lowerBound).lowerBound
        let count = span.firstPosition + rows.upperBound - first
        if count > capacity {
            // A ring holds fewer cells than the tile's keys: rows one at a time (each row's own keys fit).
            for row in rows {
                attendTile(span, rows: row..<(row + 1), kvHead: kvHead, heads: heads, layer: layer, shape: shape, scratch: scratch)
            }
            return
        }
        let vectors = tileRows * group
        let queries = scratch, accumulators = queries + vectors * headDim
        let scores = accumulators + vectors * headDim, converted = scores + vectors * count
        let sums = converted + keyBlock * headDim
        for i in 0..<tileRows {
            let q = queries + i * group * headDim
            q.update(from: span.queries.row(rows.lowerBound + i) + firstHead * headDim, count: group * headDim)
        }
        let isHalf = cache.type == .f16, elementBytes = cache.type.bytesPerElement
        accumulators.initialize(repeating: 0, count: vectors * headDim)
        let keys = cache.keys[layer].address, values = cache.values[layer].address
        let kvOffset = kvHead * headDim
        // Keys are positions first…last: at most two runs of cells, before and after the ring wraps.
        let firstCell = first % capacity, beforeWrap = capacity - firstCell
        @inline(__always) func cell(_ j: Int) -> Int { (j < beforeWrap ? firstCell + j : j - beforeWrap) * width + kvOffset }
        // Key j (counted from `first`) that row i sees: lower...upper.
        @inline(__always) func seen(_ i: Int) -> ClosedRange<Int> {
            let v = visible(rows.lowerBound + i)
            return (v.lowerBound - first)...(v.upperBound - first)
        }
        @inline(__always) func scoreRow(_ i: Int, _ g: Int) -> UnsafeMutablePointer<Float> { scores + (i * group + g) * count }

        // The cells come from memory (a decode pass streams every weight in between; a long
        // context does not fit in cache), one head's slice of each cell at a stride of the whole
        // cell. Converting key j asks for key j + keyBlock and value j: one or two rows per row
        // converted, so the requests stay within the core's outstanding-miss limit (a burst of a
        // whole block's rows at once left most of them dropped). SmolLM2 decode at 1,300–1,600
        // tokens of context (`atelier run -c 2048`, 300 tokens): 49.8 → 60.2 t/s.
        let rowBytes = headDim * elementBytes
        @inline(__always) func fetch(_ source: UnsafeMutableRawPointer, _ j: Int) {
            let row = source + cell(j) * elementBytes
            var offset = 0
            while offset < rowBytes { atelier_prefetch(row + offset); offset += 64 }
        }
        for j in 0..<min(keyBlock, count) { fetch(keys, j) }

        // f16 rows `start..<start + n` are converted into `converted` once per block for every row
        // and head of the tile; an f32 cache is read in place. `ahead(p)` runs beside key p's row.
        func rowsOf(_ source: UnsafeMutableRawPointer, _ start: Int, _ n: Int, ahead: (Int) -> Void) -> UnsafePointer<Float> {
            let halves = source.assumingMemoryBound(to: UInt16.self)
            for j in 0..<n {
                ahead(start + j)
                if isHalf { HalfPrecision.load(halves + cell(start + j), converted + j * headDim, count: headDim) }
            }
            return isHalf ? UnsafePointer(converted) : UnsafePointer(source.assumingMemoryBound(to: Float.self))
        }

        func scoreBlock(_ start: Int, _ n: Int) {
            let base = rowsOf(keys, start, n) { p in
                if p + keyBlock < count { fetch(keys, p + keyBlock) }
                fetch(values, p)
            }
            @inline(__always) func at(_ j: Int) -> Int { isHalf ? (j - start) * headDim : cell(j) }
            for i in 0..<tileRows {
                let own = seen(i)
                let lower = max(own.lowerBound, start), end = min(own.upperBound + 1, start + n)
                guard lower < end else { continue }
                for g in 0..<group {
                    let q = queries + (i * group + g) * headDim, out = scoreRow(i, g)
                    var j = lower
                    while j + 4 <= end {
                        let four = VectorMath.dot4(q, base, at(j), at(j + 1), at(j + 2), at(j + 3), headDim) * shape.scale
                        UnsafeMutableRawPointer(out + j).storeBytes(of: four, as: SIMD4<Float>.self)
                        j += 4
                    }
                    while j < end {
                        out[j] = VectorMath.dot4(q, base, at(j), at(j), at(j), at(j), headDim)[0] * shape.scale
                        j += 1
                    }
                }
            }
        }

        func valueBlock(_ start: Int, _ n: Int) {
            let base = rowsOf(values, start, n) { _ in }
            for i in 0..<tileRows {
                let own = seen(i)
                let lower = max(own.lowerBound, start), end = min(own.upperBound + 1, start + n)
                guard lower < end else { continue }
                for g in 0..<group {
                    let weights = scoreRow(i, g) + lower
                    var d = 0
                    while d < headDim {
                        let lanes = min(32, headDim - d)
                        VectorMath.accumulate(
                            weights: weights, end - lower, base + d,
                            row: { isHalf ? (lower - start + $0) * headDim : cell(lower + $0) },
                            lanes: lanes, into: accumulators + (i * group + g) * headDim + d)
                        d += lanes
                    }
                }
            }
        }

        var start = 0
        while start < count {
            scoreBlock(start, min(keyBlock, count - start))
            start += keyBlock
        }
        for i in 0..<tileRows {
            let own = seen(i)
            for g in 0..<group { sums[i * group + g] = softmaxWeights(scoreRow(i, g) + own.lowerBound, own.count) }
        }
        start = 0
        while start < count {
            valueBlock(start, min(keyBlock, count - start))
            start += keyBlock
        }
        for i in 0..<tileRows {
            for g in 0..<group {
                let out = span.output.row(rows.lowerBound + i) + (firstHead + g) * headDim
                let acc = accumulators + (i * group + g) * headDim
                let total = sums[i * group + g]
                let inverse = total == 0 ? 0 : 1 / total
                for e in 0..<headDim { out[e] = acc[e] * inverse }
            }
        }
    }

    /// scores[j] ← e^(scores[j] − max); returns their sum.
    @inline(__always)
    static func softmaxWeights(_ scores: UnsafeMutablePointer<Float>, _ count: Int) -> Float {
        var maxScore = -Float.infinity
        for j in 0..<count { maxScore = max(maxScore, scores[j]) }
        var sum: Float = 0
        var j = 0
        #if arch(x86_64)
        let top = _mm256_set1_ps(maxScore)
        var total = _mm256_setzero_ps()
        while j + 8 <= count {
            let w = GatedActivations.exp(_mm256_sub_ps(_mm256_loadu_ps(scores + j), top))
            _mm256_storeu_ps(scores + j, w)
            total = _mm256_add_ps(total, w)
            j += 8
        }
        sum = VectorMath.horizontalSum(total)
        #endif
        while j < count {
            scores[j] = expf(scores[j] - maxScore)
            sum += scores[j]
            j += 1
        }
        return sum
    }
}
