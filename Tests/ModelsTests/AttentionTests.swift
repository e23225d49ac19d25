import Compute
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// CPU attention — a prompt's span in tiles of rows, decode rows, one row alone — against a
/// float64 softmax over the cache's stored keys and values: grouped heads, f16 and f32 caches,
/// a sliding window whose ring of cells has wrapped, head sizes of SmolLM2 (64) and Gemma 3 (256).
@Suite struct AttentionTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var headDim: Int, heads: Int, kvHeads: Int, type: KVCacheType, window: Int?
        var testDescription: String {
            "headDim \(headDim), \(heads)/\(kvHeads) heads, \(type), window \(window.map(String.init) ?? "none")"
        }
    }

    static let cases = [
        Case(headDim: 64, heads: 9, kvHeads: 3, type: .f16, window: nil),
        Case(headDim: 64, heads: 9, kvHeads: 3, type: .f32, window: nil),
        Case(headDim: 256, heads: 4, kvHeads: 1, type: .f16, window: 19),
        Case(headDim: 256, heads: 4, kvHeads: 1, type: .f32, window: 19),
        Case(headDim: 40, heads: 2, kvHeads: 2, type: .f32, window: 19),
    ]

    struct Random {
        var state: UInt64
        mutating func next() -> Float {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: state >> 11) % 2000 - 1000) / 500
        }
    }

    @Test(arguments: cases)
    func matchesFloat64Softmax(_ c: Case) throws {
        let backend = CPUBackend(threads: 2)
        let width = c.kvHeads * c.headDim, queryWidth = c.heads * c.headDim
        // A window of 19 in a ring of 27 cells: the 45 positions below wrap it more than once.
        let context = 64, capacity = c.window.map { $0 + 8 } ?? context
        let cache = backend.makeKVCache(type: c.type, width: width, contextLength: context, capacity: [capacity])
        let shape = AttentionShape(
            heads: c.heads, kvHeads: c.kvHeads, headDim: c.headDim, scale: 1 / Float(c.headDim).squareRoot(), window: c.window)
        var random = Random(state: UInt64(c.headDim * 31 + c.heads))
        func stored(_ x: Float) -> Float { c.type == .f16 ? Float(Float16(x)) : x }

        // Positions 0..<45 arrive in chunks of 8 rows or fewer, as prefill and decode write them.
        let total = 45
        var keys: [[Float]] = [], values: [[Float]] = []
        var position = 0
        while position < total {
            let rows = min(8, total - position)
            let k = backend.makeMatrix(rows: rows, columns: width), v = backend.makeMatrix(rows: rows, columns: width)
            for r in 0..<rows {
                let kr = (0..<width).map { _ in random.next() }, vr = (0..<width).map { _ in random.next() }
                for i in 0..<width { k.row(r)[i] = kr[i]; v.row(r)[i] = vr[i] }
                keys.append(kr.map(stored))
                values.append(vr.map(stored))
            }
            backend.storeKV(keys: k, values: v, cache: cache, layer: 0, firstPosition: position)
            position += rows
        }

        // The last 8 positions as one tiled span, and the last 3 as three decode rows in one call.
        let tiled = 8, last = total - tiled
        let queries = backend.makeMatrix(rows: tiled, columns: queryWidth)
        var q: [[Float]] = []
        for r in 0..<tiled {
            let row = (0..<queryWidth).map { _ in random.next() }
            for i in 0..<queryWidth { queries.row(r)[i] = row[i] }
            q.append(row)  // queries stay f32 against either cache
        }
        let tiledOut = backend.makeMatrix(rows: tiled, columns: queryWidth)
        backend.attention([AttentionSpan(queries: queries, cache: cache, firstPosition: last, output: tiledOut)], layer: 0, shape: shape)
        let decodeRows = [5, 6, 7]
        let decodeOut = decodeRows.map { _ in backend.makeMatrix(rows: 1, columns: queryWidth) }
        backend.attention(
            decodeRows.enumerated().map { i, r in
                AttentionSpan(queries: queries.rows(r..<(r + 1)), cache: cache, firstPosition: last + r, output: decodeOut[i])
            }, layer: 0, shape: shape)

        // Row 7 alone: one row may split its heads' group over the threads (Gemma 3's 4 heads on 1
        // KV head); its result must equal the same row computed beside two others, bit for bit.
        let aloneOut = backend.makeMatrix(rows: 1, columns: queryWidth)
        backend.attention(
            [AttentionSpan(queries: queries.rows(7..<8), cache: cache, firstPosition: last + 7, output: aloneOut)], layer: 0, shape: shape)
        #expect(
            (0..<queryWidth).allSatisfy { aloneOut.row(0)[$0] == decodeOut[2].row(0)[$0] },
            "row 7 alone differs from row 7 beside rows 5 and 6")

        // One arithmetic per row, whatever the path: the span's rows equal the decode rows and the
        // same positions chunked 3 + 5 (other tiles, other key ranges per tile), bit for bit — so
        // a prompt's logits do not depend on how it was chunked or batched.
        func same(_ a: UnsafeMutablePointer<Float>, _ b: UnsafeMutablePointer<Float>) -> Bool {
            (0..<queryWidth).allSatisfy { a[$0].bitPattern == b[$0].bitPattern }
        }
        for (i, r) in decodeRows.enumerated() {
            #expect(same(tiledOut.row(r), decodeOut[i].row(0)), "row \(r) in a span differs from the row decoded")
        }
        let chunked = backend.makeMatrix(rows: tiled, columns: queryWidth)
        backend.attention(
            [
                AttentionSpan(queries: queries.rows(0..<3), cache: cache, firstPosition: last, output: chunked.rows(0..<3)),
                AttentionSpan(queries: queries.rows(3..<8), cache: cache, firstPosition: last + 3, output: chunked.rows(3..<8)),
            ], layer: 0, shape: shape)
        for r in 0..<tiled {
            #expect(same(tiledOut.row(r), chunked.row(r)), "row \(r) differs between chunkings 8 and 3 + 5")
        }

        var worstTiled = 0.0, worstDecode = 0.0
        for r in 0..<tiled {
            let p = last + r
            let first = max(0, p - capacity + 1, c.window.map { p - $0 + 1 } ?? 0)
            for h in 0..<c.heads {
                let kv = h / (c.heads / c.kvHeads) * c.headDim
                let scores = (first...p).map { k in
                    (0..<c.headDim).reduce(0.0) { $0 + Double(q[r][h * c.headDim + $1]) * Double(keys[k][kv + $1]) } * Double(shape.scale)
                }
                let top = scores.max()!
                let weights = scores.map { exp($0 - top) }
                let sum = weights.reduce(0, +)
                for d in 0..<c.headDim {
                    let expected = zip(first...p, weights).reduce(0.0) { $0 + $1.1 * Double(values[$1.0][kv + d]) } / sum
                    worstTiled = max(worstTiled, abs(Double(tiledOut.row(r)[h * c.headDim + d]) - expected))
                    if let i = decodeRows.firstIndex(of: r) {
                        worstDecode = max(worstDecode, abs(Double(decodeOut[i].row(0)[h * c.headDim + d]) - expected))
                    }
                }
            }
        }
        // Values are within ±2; f32 sums of ≤ 45 terms stay far inside 1e-4.
        #expect(worstTiled < 1e-4, "tiled prefill: worst difference \(worstTiled)")
        #expect(worstDecode < 1e-4, "decode rows: worst difference \(worstDecode)")
    }
}
