// Causal attention over the KV cache, one pass with an online softmax (Rabe & Staats 2021).
#if canImport(Glibc)
import Glibc
#endif

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

    /// One task per (query row, head): the decode path, where one row must still feed every thread.
    func attentionByRow(_ spans: [AttentionSpan], layer: Int, shape: AttentionShape) {
        let headDim = shape.headDim
        var firstTask: [Int] = []
        var tasks = 0
        for span in spans {
            firstTask.append(tasks)
            tasks += span.queries.rows * shape.heads
        }
        ensureWorkerScratch(floats: 2 * headDim)
        pool.run { worker, workers in
            let scratch = workerScratch[worker].address.assumingMemoryBound(to: Float.self)
            var s = 0
            for task in ThreadPool.chunk(tasks, worker, workers) {
                while task >= firstTask[s] + spans[s].queries.rows * shape.heads { s += 1 }
                let (row, head) = (task - firstTask[s]).quotientAndRemainder(dividingBy: shape.heads)
                Self.attendOneHead(spans[s], row: row, head: head, layer: layer, shape: shape, scratch: scratch)
            }
        }
    }

    /// Attention of one query row's head over its cache, in one pass with an online softmax
    /// (Rabe & Staats 2021), accumulating values in f32. `scratch`: 2 × headDim floats.
    ///
    /// Queries are rounded to f16 against an f16 cache, as ggml does before its f16 dot products.
    /// (Mirroring llama.cpp's flash-attention f16 value accumulator as well was tried and moved
    /// SmolLM2's top-5 logprobs further from llama.cpp: worst 0.54 vs 0.29 nats over the reference
    /// prompts.)
    @inline(__always)
    static func attendOneHead(_ span: AttentionSpan, row: Int, head: Int, layer: Int, shape: AttentionShape, scratch: UnsafeMutablePointer<Float>) {
        let headDim = shape.headDim, cache = span.cache
        let capacity = cache.capacity[layer], width = cache.width
        let isHalf = cache.type == .f16
        let query = scratch, accumulator = scratch + headDim
        let position = span.firstPosition + row
        let kvOffset = (head / (shape.heads / shape.kvHeads)) * headDim
        let first = firstVisible(position: position, capacity: capacity, window: shape.window)
        query.update(from: span.queries.row(row) + head * headDim, count: headDim)

        var maxScore = -Float.infinity, sum: Float = 0
        accumulator.initialize(repeating: 0, count: headDim)
        if isHalf { HalfPrecision.roundTrip(query, count: headDim) }
        let keys = cache.keys[layer].address, values = cache.values[layer].address
        let k16 = keys.assumingMemoryBound(to: UInt16.self), v16 = values.assumingMemoryBound(to: UInt16.self)
        let k32 = keys.assumingMemoryBound(to: Float.self), v32 = values.assumingMemoryBound(to: Float.self)
        for p in first...position {
            let cell = (p % capacity) * width + kvOffset
            let dot = isHalf ? VectorMath.dot(query, f16: k16 + cell, headDim) : VectorMath.dot(query, k32 + cell, headDim)
            let score = dot * shape.scale
            var valueWeight: Float = 1
            if score > maxScore {
                let rescale = expf(maxScore - score)
                maxScore = score
                for i in 0..<headDim { accumulator[i] *= rescale }
                sum *= rescale
            } else {
                valueWeight = expf(score - maxScore)
            }
            if isHalf {
                VectorMath.axpy(valueWeight, f16: v16 + cell, accumulator, headDim)
            } else {
                VectorMath.axpy(valueWeight, v32 + cell, accumulator, headDim)
            }
            sum += valueWeight
        }
        let out = span.output.row(row) + head * headDim
        let inverse = sum == 0 ? 0 : 1 / sum
        for i in 0..<headDim { out[i] = accumulator[i] * inverse }
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
