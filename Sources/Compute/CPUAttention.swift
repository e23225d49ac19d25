// Causal attention over the KV cache, one pass with an online softmax (Rabe & Staats 2021).
#if canImport(Glibc)
import Glibc
#endif
#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif
import CPrefetch

extension CPUBackend {
    /// Query rows per task in `attentionInTiles`.
    static let attentionRowTile = 4

    /// The oldest position a query at `position` attends to: inside the window, and not older than
    /// the cells a ring of `capacity` still holds.
    @inline(__always)
    static func firstVisible(position: Int, capacity: Int, window: Int?) -> Int {
        max(0, position - capacity + 1, window.map { position - $0 + 1 } ?? 0)
    }

    public func attention(queries: Matrix, cache: KVCache, layer: Int, firstPosition: Int, shape: AttentionShape, into output: Matrix) {
        attention([AttentionSpan(queries: queries, cache: cache, firstPosition: firstPosition, output: output)], layer: layer, shape: shape)
    }

    /// Spans long enough for tiles take `attentionInTiles` one by one; all the short ones (decode
    /// rows) share one dispatch, so a server's pass over four sequences pays one hand-off per layer
    /// instead of four, and its threads split 4 × heads tasks instead of each sequence's few.
    public func attention(_ spans: [AttentionSpan], layer: Int, shape: AttentionShape) {
        var short: [AttentionSpan] = []
        for span in spans {
            if span.queries.rows >= 2 * Self.attentionRowTile {
                attentionInTiles(queries: span.queries, cache: span.cache, layer: layer, firstPosition: span.firstPosition, shape: shape, into: span.output)
            } else if span.queries.rows > 0 {
                short.append(span)
            }
        }
        if !short.isEmpty { attentionByRow(short, layer: layer, shape: shape) }
    }

    /// Keys converted from the cache at a time in `attendOneGroup`.
    static let keyBlock = 32

    /// One task per (query row, KV head): the decode path. A task takes every query head that
    /// shares its KV head, so each cached key and value is converted from f16 once for the group
    /// (3 query heads in SmolLM2, 4 in Gemma 3) instead of once per head: on Zen 1 a `vcvtph2ps`
    /// costs about as much as the multiply-add it feeds. When that leaves fewer tasks than threads
    /// (one decode row of Gemma 3 270M, whose 4 query heads share 1 KV head) the group is split
    /// into parts. Each head's arithmetic is the same whatever its task (the conversion is exact),
    /// and a task reads only its own row, so a row's result does not change with its batch.
    func attentionByRow(_ spans: [AttentionSpan], layer: Int, shape: AttentionShape) {
        let group = shape.heads / shape.kvHeads
        let rows = spans.reduce(0) { $0 + $1.queries.rows }
        let parts = min(group, max(1, (pool.threadCount + rows * shape.kvHeads - 1) / (rows * shape.kvHeads)))
        let perRow = shape.kvHeads * parts
        var firstTask: [Int] = []
        var tasks = 0
        for span in spans {
            firstTask.append(tasks)
            tasks += span.queries.rows * perRow
        }
        let longest = spans.map { $0.cache.capacity[layer] }.max() ?? 0
        ensureWorkerScratch(floats: group * (2 * shape.headDim + longest + 1) + Self.keyBlock * shape.headDim + 8)
        pool.run { worker, workers in
            let scratch = workerScratch[worker].address.assumingMemoryBound(to: Float.self)
            var s = 0
            for task in ThreadPool.chunk(tasks, worker, workers) {
                while task >= firstTask[s] + spans[s].queries.rows * perRow { s += 1 }
                let (row, rest) = (task - firstTask[s]).quotientAndRemainder(dividingBy: perRow)
                let (kvHead, part) = rest.quotientAndRemainder(dividingBy: parts)
                let heads = ThreadPool.chunk(group, part, parts)
                Self.attendOneGroup(spans[s], row: row, kvHead: kvHead, heads: heads, layer: layer, shape: shape, scratch: scratch)
            }
        }
    }

    /// Attention of one query row's heads `heads` (indices within the group of `kvHead`), in three
    /// passes over blocks of `keyBlock` keys: every score (four keys at a time, four independent dot products), the
    /// softmax weights with a vector exp, then the weighted values, 32 lanes of a head at a time
    /// held in registers across a block. f16 blocks are converted once into f32 for all heads.
    /// `scratch`: group × (2 × headDim + cache capacity + 1) + keyBlock × headDim + 8 floats.
    ///
    /// Queries are rounded to f16 against an f16 cache, as ggml does before its f16 dot products.
    @inline(__always)
    static func attendOneGroup(_ span: AttentionSpan, row: Int, kvHead: Int, heads: Range<Int>, layer: Int,
                               shape: AttentionShape, scratch: UnsafeMutablePointer<Float>) {
        let headDim = shape.headDim, cache = span.cache, group = heads.count
        let firstHead = kvHead * (shape.heads / shape.kvHeads) + heads.lowerBound
        let capacity = cache.capacity[layer], width = cache.width
        let position = span.firstPosition + row
        let first = firstVisible(position: position, capacity: capacity, window: shape.window)
        let count = position - first + 1
        let queries = scratch, accumulators = queries + group * headDim
        let scores = accumulators + group * headDim, converted = scores + group * count
        let sums = converted + keyBlock * headDim
        queries.update(from: span.queries.row(row) + firstHead * headDim, count: group * headDim)
        let isHalf = cache.type == .f16, elementBytes = cache.type.bytesPerElement
        if isHalf { HalfPrecision.roundTrip(queries, count: group * headDim) }
        accumulators.initialize(repeating: 0, count: group * headDim)
        let keys = cache.keys[layer].address, values = cache.values[layer].address
        let kvOffset = kvHead * headDim
        // Keys are positions first…position: at most two runs of cells, before and after the ring wraps.
        let firstCell = first % capacity, beforeWrap = capacity - firstCell
        @inline(__always) func cell(_ j: Int) -> Int { (j < beforeWrap ? firstCell + j : j - beforeWrap) * width + kvOffset }

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

        // f16 rows `start..<start + n` are converted into `converted` once per block for every head
        // of the group; an f32 cache is read in place. `ahead(p)` runs beside position p's row.
        func rows(_ source: UnsafeMutableRawPointer, _ start: Int, _ n: Int, ahead: (Int) -> Void) -> UnsafePointer<Float> {
            let halves = source.assumingMemoryBound(to: UInt16.self)
            for j in 0..<n {
                ahead(start + j)
                if isHalf { HalfPrecision.load(halves + cell(start + j), converted + j * headDim, count: headDim) }
            }
            return isHalf ? UnsafePointer(converted) : UnsafePointer(source.assumingMemoryBound(to: Float.self))
        }

        func scoreBlock(_ start: Int, _ n: Int) {
            let base = rows(keys, start, n) { p in
                if p + keyBlock < count { fetch(keys, p + keyBlock) }
                fetch(values, p)
            }
            @inline(__always) func at(_ j: Int) -> Int { isHalf ? j * headDim : cell(start + j) }
            for g in 0..<group {
                let q = queries + g * headDim, out = scores + g * count + start
                var j = 0
                while j + 4 <= n {
                    let four = VectorMath.dot4(q, base, at(j), at(j + 1), at(j + 2), at(j + 3), headDim) * shape.scale
                    UnsafeMutableRawPointer(out + j).storeBytes(of: four, as: SIMD4<Float>.self)
                    j += 4
                }
                while j < n {
                    out[j] = VectorMath.dot4(q, base, at(j), at(j), at(j), at(j), headDim)[0] * shape.scale
                    j += 1
                }
            }
        }

        func valueBlock(_ start: Int, _ n: Int) {
            let base = rows(values, start, n) { _ in }
            for g in 0..<group {
                var d = 0
                while d < headDim {
                    let lanes = min(32, headDim - d)
                    VectorMath.accumulate(weights: scores + g * count + start, n, base + d, row: { isHalf ? $0 * headDim : cell(start + $0) },
                                          lanes: lanes, into: accumulators + g * headDim + d)
                    d += lanes
                }
            }
        }

        var start = 0
        while start < count {
            scoreBlock(start, min(keyBlock, count - start))
            start += keyBlock
        }
        for g in 0..<group { sums[g] = softmaxWeights(scores + g * count, count) }
        start = 0
        while start < count {
            valueBlock(start, min(keyBlock, count - start))
            start += keyBlock
        }
        for g in 0..<group {
            let out = span.output.row(row) + (firstHead + g) * headDim, acc = accumulators + g * headDim
            let inverse = sums[g] == 0 ? 0 : 1 / sums[g]
            for i in 0..<headDim { out[i] = acc[i] * inverse }
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

    /// Prefill: one task per (tile of query rows, KV head) takes every query head that shares the
    /// KV head, so each cached key and value row is converted to f32 once for all of the task's
    /// queries (4 rows × 4 heads for Gemma 3, 4 × 3 for SmolLM2) instead of once per query. Keys go
    /// four at a time: four scores, one softmax rescale, and one pass over the accumulator that
    /// adds all four weighted values (the decode path above makes a pass per key).
    func attentionInTiles(queries: Matrix, cache: KVCache, layer: Int, firstPosition: Int, shape: AttentionShape, into output: Matrix) {
        let headDim = shape.headDim
        let groupSize = shape.heads / shape.kvHeads
        let capacity = cache.capacity[layer]
        let width = cache.width
        let keys = cache.keys[layer].address, values = cache.values[layer].address
        let isHalf = cache.type == .f16
        let tile = Self.attentionRowTile
        let vectors = tile * groupSize
        let span = 4
        ensureWorkerScratch(floats: 2 * vectors * headDim + 2 * span * headDim + 2 * vectors)
        let tasks = (queries.rows + tile - 1) / tile * shape.kvHeads

        pool.run { worker, workers in
            let scratch = workerScratch[worker].address.assumingMemoryBound(to: Float.self)
            let query = scratch, accumulator = scratch + vectors * headDim
            let keyRows = accumulator + vectors * headDim, valueRows = keyRows + span * headDim
            let maxScore = valueRows + span * headDim, sum = maxScore + vectors
            for task in ThreadPool.chunk(tasks, worker, workers) {
                let (rowTile, kvHead) = task.quotientAndRemainder(dividingBy: shape.kvHeads)
                let rows = (rowTile * tile)..<min(rowTile * tile + tile, queries.rows)
                func firstVisible(_ row: Int) -> Int {
                    Self.firstVisible(position: firstPosition + row, capacity: capacity, window: shape.window)
                }
                for (i, row) in rows.enumerated() {
                    for g in 0..<groupSize {
                        let q = query + (i * groupSize + g) * headDim
                        q.update(from: queries.row(row) + (kvHead * groupSize + g) * headDim, count: headDim)
                        if isHalf { HalfPrecision.roundTrip(q, count: headDim) }
                    }
                }
                accumulator.initialize(repeating: 0, count: rows.count * groupSize * headDim)
                maxScore.initialize(repeating: -Float.infinity, count: vectors)
                sum.initialize(repeating: 0, count: vectors)

                let k16 = keys.assumingMemoryBound(to: UInt16.self), v16 = values.assumingMemoryBound(to: UInt16.self)
                let k32 = keys.assumingMemoryBound(to: Float.self), v32 = values.assumingMemoryBound(to: Float.self)
                let last = firstPosition + rows.upperBound - 1
                var start = firstVisible(rows.lowerBound)
                while start <= last {
                    let count = min(span, last - start + 1)
                    var k = (UnsafePointer(keyRows), UnsafePointer(keyRows), UnsafePointer(keyRows), UnsafePointer(keyRows))
                    var v = k
                    for j in 0..<span {
                        // Past the last key, repeat it with weight 0 so the fused pass needs no tail.
                        let cell = ((start + min(j, count - 1)) % capacity) * width + kvHead * headDim
                        let kj: UnsafePointer<Float>, vj: UnsafePointer<Float>
                        if isHalf {
                            HalfPrecision.load(k16 + cell, keyRows + j * headDim, count: headDim)
                            HalfPrecision.load(v16 + cell, valueRows + j * headDim, count: headDim)
                            kj = UnsafePointer(keyRows + j * headDim)
                            vj = UnsafePointer(valueRows + j * headDim)
                        } else {
                            kj = UnsafePointer(k32 + cell)
                            vj = UnsafePointer(v32 + cell)
                        }
                        switch j {
                        case 0: (k.0, v.0) = (kj, vj)
                        case 1: (k.1, v.1) = (kj, vj)
                        case 2: (k.2, v.2) = (kj, vj)
                        default: (k.3, v.3) = (kj, vj)
                        }
                    }
                    for (i, row) in rows.enumerated() {
                        let visible = firstVisible(row)...(firstPosition + row)
                        guard visible.overlaps(start...(start + count - 1)) else { continue }
                        for g in 0..<groupSize {
                            let index = i * groupSize + g
                            let q = query + index * headDim, acc = accumulator + index * headDim
                            var scores = SIMD4<Float>(repeating: -.infinity)
                            for j in 0..<count where visible.contains(start + j) {
                                let kj = j == 0 ? k.0 : j == 1 ? k.1 : j == 2 ? k.2 : k.3
                                scores[j] = VectorMath.dot(q, kj, headDim) * shape.scale
                            }
                            let blockMax = scores.max()
                            if blockMax > maxScore[index] {
                                let rescale = expf(maxScore[index] - blockMax)
                                maxScore[index] = blockMax
                                VectorMath.scale(acc, by: rescale, headDim)
                                sum[index] *= rescale
                            }
                            var weights = SIMD4<Float>()
                            for j in 0..<span where scores[j] > -.infinity { weights[j] = expf(scores[j] - maxScore[index]) }
                            VectorMath.axpy4(weights, v.0, v.1, v.2, v.3, acc, headDim)
                            sum[index] += weights.sum()
                        }
                    }
                    start += count
                }
                for (i, row) in rows.enumerated() {
                    for g in 0..<groupSize {
                        let index = i * groupSize + g
                        let out = output.row(row) + (kvHead * groupSize + g) * headDim
                        let inverse = sum[index] == 0 ? 0 : 1 / sum[index]
                        for j in 0..<headDim { out[j] = accumulator[index * headDim + j] * inverse }
                    }
                }
            }
        }
    }
}
