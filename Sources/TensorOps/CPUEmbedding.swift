import Tensors

/// Embedding lookup and its backward (row gathers and scatter-adds) on the CPU.
extension CPUTensorBackend {
    public func embedding(table: Tensor, indices: Tensor) -> Tensor {
        precondition(table.rank == 2, "embedding table must be [vocabulary, width], not \(table.shape)")
        precondition(indices.dtype == .i32, "embedding indices must be i32, not \(indices.dtype)")
        return dispatch(
            table.dtype, "embedding", f32: { embeddingKernel(Float.self, table, indices) },
            f64: { embeddingKernel(Double.self, table, indices) })
    }

    func embeddingKernel<T: TensorScalar>(_: T.Type, _ table: Tensor, _ indices: Tensor) -> Tensor {
        let (vocabulary, width) = (table.shape[0], table.shape[1])
        let (rows, ids) = (contiguous(table), contiguous(indices))
        let count = ids.count
        let result = empty(indices.shape + [width], dtype: table.dtype)
        let source = rows.address.assumingMemoryBound(to: T.self)
        let pi = ids.address.assumingMemoryBound(to: Int32.self)
        let out = result.address.assumingMemoryBound(to: T.self)
        parallel(count, elements: count * width) { range in
            for row in range {
                let id = Int(pi[row])
                precondition(id >= 0 && id < vocabulary, "embedding index \(id) outside 0..<\(vocabulary)")
                (out + row * width).update(from: source + id * width, count: width)
            }
        }
        return result
    }

    public func embeddingBackward(gradient: Tensor, indices: Tensor, into tableGradient: Tensor) {
        precondition(tableGradient.rank == 2 && tableGradient.isContiguous, "embedding gradient must be a contiguous [vocabulary, width]")
        precondition(indices.dtype == .i32, "embedding indices must be i32, not \(indices.dtype)")
        precondition(
            gradient.shape == indices.shape + [tableGradient.shape[1]] && gradient.dtype == tableGradient.dtype,
            "embedding gradient \(gradient.shape) \(gradient.dtype) for indices \(indices.shape) into \(tableGradient.shape)")
        dispatch(
            gradient.dtype, "embeddingBackward", f32: { embeddingBackwardKernel(Float.self, gradient, indices, tableGradient) },
            f64: { embeddingBackwardKernel(Double.self, gradient, indices, tableGradient) })
    }

    /// Each worker owns a band of columns and walks every index in order, so repeated ids add up
    /// in the same order on every run and no two threads write one element.
    func embeddingBackwardKernel<T: TensorScalar>(_: T.Type, _ gradient: Tensor, _ indices: Tensor, _ tableGradient: Tensor) {
        let (vocabulary, width) = (tableGradient.shape[0], tableGradient.shape[1])
        let (g, ids) = (contiguous(gradient), contiguous(indices))
        let count = ids.count
        let source = g.address.assumingMemoryBound(to: T.self)
        let pi = ids.address.assumingMemoryBound(to: Int32.self)
        let table = tableGradient.address.assumingMemoryBound(to: T.self)
        for row in 0..<count {
            precondition(pi[row] >= 0 && Int(pi[row]) < vocabulary, "embedding index \(pi[row]) outside 0..<\(vocabulary)")
        }
        parallel(width, elements: count * width) { columns in
            let (start, length) = (columns.lowerBound, columns.count)
            for row in 0..<count {
                let (from, to) = (source + row * width + start, table + Int(pi[row]) * width + start)
                for i in 0..<length { to[i] += from[i] }
            }
        }
    }
}
