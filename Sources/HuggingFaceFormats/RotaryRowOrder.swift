/// The two orders of a query or key projection's rows within each head.
///
/// Training (and GGUF, and llama.cpp) rotates adjacent pairs (2i, 2i+1) of a head; Hugging Face's
/// Llama rotates half against half (i, i + d/2). The same model in HF's order has row 2i + j of a
/// head (j = 0, 1) at row j·d/2 + i — the inverse of the permutation llama.cpp's converter applies
/// to HF checkpoints.
public enum RotaryRowOrder {
    /// HF (rotate-half) rows → adjacent-pair rows: the converter's permutation.
    public static func adjacentPairs(fromRotateHalf matrix: [Float], heads: Int, columns: Int) -> [Float] {
        reorder(matrix, heads: heads, columns: columns, toRotateHalf: false)
    }

    /// Adjacent-pair rows (training, GGUF) → HF (rotate-half) rows.
    public static func rotateHalf(fromAdjacentPairs matrix: [Float], heads: Int, columns: Int) -> [Float] {
        reorder(matrix, heads: heads, columns: columns, toRotateHalf: true)
    }

    /// `matrix` is row-major with heads × d rows of `columns` values, d even.
    private static func reorder(_ matrix: [Float], heads: Int, columns: Int, toRotateHalf: Bool) -> [Float] {
        let rows = matrix.count / columns
        precondition(rows * columns == matrix.count && rows % heads == 0 && (rows / heads) % 2 == 0, "RotaryRowOrder: bad shape")
        let d = rows / heads
        var out = [Float](repeating: 0, count: matrix.count)
        for head in 0..<heads {
            for i in 0..<(d / 2) {
                for j in 0..<2 {
                    let adjacent = head * d + 2 * i + j
                    let half = head * d + j * (d / 2) + i
                    let (from, to) = toRotateHalf ? (adjacent, half) : (half, adjacent)
                    for c in 0..<columns { out[to * columns + c] = matrix[from * columns + c] }
                }
            }
        }
        return out
    }
}
