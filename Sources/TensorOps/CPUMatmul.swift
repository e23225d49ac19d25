import Tensors
import Threading

/// Matrix products on the CPU: OpenBLAS GEMM per batch, the rows of each product split over the pool.
extension CPUTensorBackend {
    public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool) -> Tensor {
        precondition(a.dtype == b.dtype, "matmul of \(a.dtype) and \(b.dtype)")
        return dispatch(
            a.dtype, "matmul",
            f32: { matmulKernel(Float.self, a, b, transposeA, transposeB) },
            f64: { matmulKernel(Double.self, a, b, transposeA, transposeB) })
    }

    public func matmul(_ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool, factor: Double, addingInto c: Tensor) {
        precondition(a.dtype == b.dtype && b.dtype == c.dtype, "matmul of \(a.dtype) and \(b.dtype) into \(c.dtype)")
        precondition(a.rank == 2 && b.rank == 2 && c.rank == 2 && c.isContiguous, "accumulating matmul needs matrices and a dense target")
        dispatch(
            a.dtype, "matmul",
            f32: { accumulatingMatmulKernel(Float.self, a, b, transposeA, transposeB, factor, c) },
            f64: { accumulatingMatmulKernel(Double.self, a, b, transposeA, transposeB, factor, c) })
    }

    func accumulatingMatmulKernel<T: TensorScalar>(
        _: T.Type, _ a: Tensor, _ b: Tensor, _ transposeA: Bool, _ transposeB: Bool, _ factor: Double, _ c: Tensor
    ) {
        let m = transposeA ? a.shape[1] : a.shape[0], k = transposeA ? a.shape[0] : a.shape[1]
        let kb = transposeB ? b.shape[1] : b.shape[0], n = transposeB ? b.shape[0] : b.shape[1]
        precondition(
            k == kb && c.shape == [m, n], "matmul \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "") into \(c.shape)")
        guard m > 0, n > 0, k > 0 else { return }
        gemmInRowBlocks(
            T.self, a, b, transposeA: transposeA, transposeB: transposeB, batches: 1, m: m, n: n, k: k, alpha: T(factor), beta: 1,
            into: c.address.assumingMemoryBound(to: T.self))
    }

    /// A 2-D operand whose last axis is dense or whose rows are dense (a transposed view) goes to
    /// BLAS as it is, with the transpose flag flipped for the latter; anything else is copied first.
    private func blasOperand(_ x: Tensor, transposed: Bool) -> (tensor: Tensor, transposed: Bool, leading: Int) {
        let (rows, columns) = (x.rank - 2, x.rank - 1)
        if x.strides[columns] == 1 && x.strides[rows] >= max(1, x.shape[columns]) {
            return (x, transposed, x.strides[rows])
        }
        if x.strides[rows] == 1 && x.strides[columns] >= max(1, x.shape[rows]) {
            return (x, !transposed, x.strides[columns])
        }
        let dense = contiguous(x)
        return (dense, transposed, x.shape[columns])
    }

    func matmulKernel<T: TensorScalar>(_: T.Type, _ a: Tensor, _ b: Tensor, _ transposeA: Bool, _ transposeB: Bool) -> Tensor {
        precondition(a.rank >= 2 && b.rank >= 2, "matmul needs matrices: \(a.shape) · \(b.shape)")
        if a.rank > 2 && b.rank == 2 && !transposeA && a.isContiguous {
            // Every batch times one matrix is one product of the stacked rows.
            let stacked = matmulKernel(T.self, a.reshaped([-1, a.shape[a.rank - 1]]), b, false, transposeB)
            return stacked.reshaped(Array(a.shape.dropLast()) + [stacked.shape[1]])
        }
        let batchShape = Array(a.shape.dropLast(2))
        precondition(b.rank == 2 || Array(b.shape.dropLast(2)) == batchShape, "matmul batch axes differ: \(a.shape) · \(b.shape)")
        let m = transposeA ? a.shape[a.rank - 1] : a.shape[a.rank - 2]
        let k = transposeA ? a.shape[a.rank - 2] : a.shape[a.rank - 1]
        let kb = transposeB ? b.shape[b.rank - 1] : b.shape[b.rank - 2]
        let n = transposeB ? b.shape[b.rank - 2] : b.shape[b.rank - 1]
        precondition(k == kb, "matmul inner sizes differ: \(a.shape)\(transposeA ? "ᵀ" : "") · \(b.shape)\(transposeB ? "ᵀ" : "")")
        let result = empty(batchShape + [m, n], dtype: a.dtype)
        let batches = batchShape.reduce(1, *)
        if k == 0 {
            fill(result, with: 0)
            return result
        }
        // Batches flatten when their axes are uniform strides; otherwise contiguous copies make them so.
        let flatA = a.rank == 2 ? a : contiguousBatches(a)
        let flatB = b.rank == 2 ? b : contiguousBatches(b)
        gemmInRowBlocks(
            T.self, flatA, flatB, transposeA: transposeA, transposeB: transposeB, batches: batches, m: m, n: n, k: k, alpha: 1, beta: 0,
            into: result.address.assumingMemoryBound(to: T.self))
        return result
    }

    /// One GEMM per batch, C_b = alpha · op(A_b) · op(B_b) + beta · C_b with C_b dense [m, n] at
    /// `out + b·m·n`: the rows of each product split over the pool when the work pays for it, else
    /// OpenBLAS alone. `a` and `b` are 2-D or have dense batch axes (`contiguousBatches`).
    private func gemmInRowBlocks<T: TensorScalar>(
        _: T.Type, _ a: Tensor, _ b: Tensor, transposeA: Bool, transposeB: Bool, batches: Int, m: Int, n: Int, k: Int, alpha: T,
        beta: T, into out: UnsafeMutablePointer<T>
    ) {
        // Each batch's operands as BLAS takes them, resolved before the tasks (a copy, where a layout
        // needs one, is made once here rather than in every task).
        let operands = (0..<batches).map { batch in
            (
                batchMatrix(a, batch: batch, two: a.rank == 2, transposed: transposeA),
                batchMatrix(b, batch: batch, two: b.rank == 2, transposed: transposeB)
            )
        }
        let useBLASThreads = gemmThreading == .openBLAS || batches * m * n * k < 1 << 15 || pool.threadCount == 1
        // Each task is (batch, block of rows of the result).
        let blocks = useBLASThreads ? 1 : max(1, min(m / 16, pool.threadCount * 2))
        let tasks = batches * blocks
        let run: (Range<Int>) -> Void = { range in
            for task in range {
                let batch = task / blocks, block = task % blocks
                let rows = blocks == 1 ? 0..<m : ThreadPool.chunk(m, block, blocks)
                if rows.isEmpty { continue }
                let ((ma, ta, lda), (mb, tb, ldb)) = operands[batch]
                // Row r of op(A) starts at r·lda when not transposed, at column r when transposed.
                let rowStart = ta ? rows.lowerBound : rows.lowerBound * lda
                T.gemm(
                    transposeA: ta, transposeB: tb, m: rows.count, n: n, k: k, alpha: alpha,
                    a: ma.address.assumingMemoryBound(to: T.self) + rowStart, lda: lda, b: mb.address.assumingMemoryBound(to: T.self),
                    ldb: ldb, beta: beta, c: out + batch * m * n + rows.lowerBound * n, ldc: n)
            }
        }
        if useBLASThreads || tasks == 1 {
            run(0..<tasks)
        } else {
            pool.parallelFor(tasks, run)
        }
    }

    /// Makes the leading (batch) axes of `x` one dense run of matrices, each matrix keeping a BLAS-usable layout.
    private func contiguousBatches(_ x: Tensor) -> Tensor {
        let matrixRows = x.rank - 2
        var step = x.shape[matrixRows] * x.shape[matrixRows + 1]
        // Dense batches: every batch axis strides by the product of the axes after it.
        var uniform = true
        for axis in stride(from: matrixRows - 1, through: 0, by: -1) {
            if x.shape[axis] != 1 && x.strides[axis] != step { uniform = false }
            step *= x.shape[axis]
        }
        let matrixDense =
            (x.strides[matrixRows + 1] == 1 && x.strides[matrixRows] == x.shape[matrixRows + 1])
            || (x.strides[matrixRows] == 1 && x.strides[matrixRows + 1] == x.shape[matrixRows])
        return uniform && matrixDense ? x : contiguous(x)
    }

    /// Matrix `batch` of a tensor whose batch axes are dense, as a 2-D view with its BLAS layout.
    private func batchMatrix(_ x: Tensor, batch: Int, two: Bool, transposed: Bool) -> (tensor: Tensor, transposed: Bool, leading: Int) {
        let rows = x.shape[x.rank - 2], columns = x.shape[x.rank - 1]
        let matrix =
            two
            ? x
            : Tensor(
                buffer: x.buffer, dtype: x.dtype, shape: [rows, columns], strides: [x.strides[x.rank - 2], x.strides[x.rank - 1]],
                offset: x.offset + batch * rows * columns)
        return blasOperand(matrix, transposed: transposed)
    }
}
