import Tensors

/// Walks a layout row by row (a row = the last axis), giving each row's starting element for
/// several operands that share one shape: the loop every strided element-wise kernel is built on.
/// The inner loop over a row then runs with each operand's last-axis stride (0 when broadcast).
struct StridedRows {
    let shape: [Int]
    let strides: [[Int]]
    let offsets: [Int]

    init(shape: [Int], operands: [Tensor]) {
        self.shape = shape.isEmpty ? [1] : shape
        strides = operands.map { $0.rank == 0 ? [0] : $0.strides }
        offsets = operands.map(\.offset)
    }

    var rowLength: Int { shape[shape.count - 1] }
    var rowCount: Int { rowLength == 0 ? 0 : shape.reduce(1, *) / rowLength }
    func innerStride(_ operand: Int) -> Int { strides[operand][shape.count - 1] }

    /// Calls `body(row, starts)` for rows `rows`, `starts[i]` the element index of operand i's row.
    func forEach(_ rows: Range<Int>, _ body: (Int, UnsafeMutableBufferPointer<Int>) -> Void) {
        guard !rows.isEmpty else { return }
        let outerAxes = shape.count - 1
        var index = [Int](repeating: 0, count: max(outerAxes, 1))
        var remainder = rows.lowerBound
        for axis in stride(from: outerAxes - 1, through: 0, by: -1) {
            index[axis] = remainder % shape[axis]
            remainder /= shape[axis]
        }
        withUnsafeTemporaryAllocation(of: Int.self, capacity: strides.count) { starts in
            for operand in strides.indices {
                var start = offsets[operand]
                for axis in 0..<outerAxes { start += index[axis] * strides[operand][axis] }
                starts[operand] = start
            }
            for row in rows {
                body(row, starts)
                // Advance the odometer and every operand's start with it.
                var axis = outerAxes - 1
                while axis >= 0 {
                    index[axis] += 1
                    for operand in strides.indices { starts[operand] += strides[operand][axis] }
                    if index[axis] < shape[axis] { break }
                    for operand in strides.indices { starts[operand] -= strides[operand][axis] * shape[axis] }
                    index[axis] = 0
                    axis -= 1
                }
            }
        }
    }
}
