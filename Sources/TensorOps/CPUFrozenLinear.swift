import Compute
import Quantization
import Tensors
import Threading

/// Frozen weights on the CPU: a pretrained base stays in its stored type (QLoRA's one quantized
/// copy; never dequantized whole). The forward pass runs the inference kernels or f32 GEMM on
/// dequantized row tiles; the input gradient always runs GEMM on dequantized row tiles, each
/// worker summing its tiles' products into its own accumulator.
extension CPUTensorBackend {
    /// Rows of one dequantized tile: at most about 256 K elements (1 MiB of f32: 512 KiB measured
    /// 3 % slower on SmolLM2's fine-tuning step, 2 MiB the same as 1), at least 16 rows for GEMM to
    /// be efficient, and the tiles a multiple of the workers, equal to a multiple of 8 rows, so no
    /// worker idles while another finishes a last tile (a 192-row key projection used to be one
    /// tile, on one worker).
    static func tiling(rows: Int, columns: Int, workers: Int) -> (rows: Int, count: Int) {
        let largest = max(16, (1 << 18) / max(columns, 1) / 16 * 16)
        let workers = max(1, workers)
        let count = ((rows + largest - 1) / largest + workers - 1) / workers * workers
        let tile = max(16, ((rows + count - 1) / count + 7) / 8 * 8)
        return (tile, (rows + tile - 1) / tile)
    }

    public func frozenLinear(_ x: Tensor, weight: Weight) -> Tensor {
        precondition(x.shape.last == weight.columns, "frozen linear of \(x.shape) with \(weight.name) [\(weight.rows), \(weight.columns)]")
        let rows = x.count / max(weight.columns, 1)
        let output = empty([rows, weight.rows], dtype: x.dtype)
        frozenProduct(contiguous(x).reshaped([rows, weight.columns]), weight, into: output, adding: false)
        return output.reshaped(Array(x.shape.dropLast()) + [weight.rows])
    }

    public func frozenLinear(_ x: Tensor, weight: Weight, addingInto output: Tensor) {
        precondition(x.shape.last == weight.columns, "frozen linear of \(x.shape) with \(weight.name) [\(weight.rows), \(weight.columns)]")
        let rows = x.count / max(weight.columns, 1)
        precondition(
            output.isContiguous && output.count == rows * weight.rows && output.dtype == x.dtype,
            "frozen linear adding \(x.shape) · \(weight.name)ᵀ into \(output.shape) \(output.dtype)")
        frozenProduct(contiguous(x).reshaped([rows, weight.columns]), weight, into: output.reshaped([rows, weight.rows]), adding: true)
    }

    /// `output = input · Wᵀ`, or `output += input · Wᵀ` when `adding` (input [rows, inputs], output
    /// contiguous [rows, outputs]): the inference kernels where `frozenForward` picks them, else
    /// GEMM on dequantized tiles (beta 1 when adding).
    private func frozenProduct(_ input: Tensor, _ weight: Weight, into output: Tensor, adding: Bool) {
        let rows = input.shape[0]
        switch input.dtype {
        case .f32 where frozenForward.usesQuantizedKernels(rows: rows):
            guard rows > 0 else { return }
            let product = adding ? empty(output.shape, dtype: .f32) : output
            inferenceCPU.matmul(weight, Matrix(input), into: Matrix(product))
            if adding { accumulate(product, into: output, factor: 1) }
        case .f32: dequantizedProduct(Float.self, input, weight, into: output, beta: adding ? 1 : 0)
        case .f64: dequantizedProduct(Double.self, input, weight, into: output, beta: adding ? 1 : 0)
        default: preconditionFailure("frozen linear of \(input.dtype)")
        }
    }

    public func frozenLinearInputGradient(_ gradient: Tensor, weight: Weight) -> Tensor {
        precondition(
            gradient.shape.last == weight.rows,
            "frozen linear gradient \(gradient.shape) for \(weight.name) [\(weight.rows), \(weight.columns)]")
        let rows = gradient.count / max(weight.rows, 1)
        let dy = contiguous(gradient).reshaped([rows, weight.rows])
        let result =
            dispatch(
                gradient.dtype, "frozen linear gradient",
                f32: { inputGradient(Float.self, dy, weight) },
                f64: { inputGradient(Double.self, dy, weight) })
        return result.reshaped(Array(gradient.shape.dropLast()) + [weight.columns])
    }

    public func frozenEmbedding(_ indices: Tensor, table: Weight, scale: Double, dtype: DType) -> Tensor {
        precondition(indices.dtype == .i32, "embedding indices must be i32, not \(indices.dtype)")
        let ids = contiguous(indices)
        let tokens = Array(UnsafeBufferPointer(start: ids.address.assumingMemoryBound(to: Int32.self), count: ids.count))
        for token in tokens {
            precondition(token >= 0 && Int(token) < table.rows, "token \(token) outside \(table.name)'s \(table.rows) rows")
        }
        let rows = empty([tokens.count, table.columns], dtype: .f32)
        if !tokens.isEmpty { inferenceCPU.embed(tokens, table: table, scale: Float(scale), into: Matrix(rows)) }
        let shaped = rows.reshaped(indices.shape + [table.columns])
        if dtype == .f32 { return shaped }
        let converted = empty(shaped.shape, dtype: dtype)
        copy(shaped, into: converted)
        return converted
    }

    /// Dequantizes rows `range` of `weight` into `tile` (row-major, `weight.columns` per row).
    func dequantizeRows<T: TensorScalar>(
        _ weight: Weight, _ range: Range<Int>, into tile: UnsafeMutablePointer<T>, scratch: UnsafeMutablePointer<Float>
    ) {
        precondition(weight.layout == .rowMajor, "\(weight.name): frozen weights must be row-major (load them with repacking off)")
        let columns = weight.columns
        if T.self == Float.self, weight.rowBytes * weight.type.blockSize == columns * weight.type.typeSize {
            // Rows are whole blocks back to back: the tile is one run of blocks, dequantized in one call.
            Quantization.dequantize(
                weight.type, from: weight.data + range.lowerBound * weight.rowBytes,
                to: UnsafeMutableRawPointer(tile).assumingMemoryBound(to: Float.self), count: range.count * columns)
            return
        }
        for (index, row) in range.enumerated() {
            let source = weight.data + row * weight.rowBytes
            if T.self == Float.self {
                Quantization.dequantize(
                    weight.type, from: source, to: UnsafeMutableRawPointer(tile + index * columns).assumingMemoryBound(to: Float.self),
                    count: columns)
            } else {
                Quantization.dequantize(weight.type, from: source, to: scratch, count: columns)
                for c in 0..<columns { tile[index * columns + c] = T(Double(scratch[c])) }
            }
        }
    }

    /// `result = x · Wᵀ + beta · result` (contiguous [n, outputs]) tile by tile: each task
    /// dequantizes a block of W's rows and fills those output columns. With beta 1 the GEMM adds
    /// into what is there and skips the pass that zeroes C for beta 0.
    func dequantizedProduct<T: TensorScalar>(_: T.Type, _ x: Tensor, _ weight: Weight, into result: Tensor, beta: T) {
        let (n, inputs, outputs) = (x.shape[0], weight.columns, weight.rows)
        guard n > 0, outputs > 0 else { return }
        let workers = pool.threadCount
        let (tile, tiles) = Self.tiling(rows: outputs, columns: inputs, workers: workers)
        let scratch = empty([workers, tile * inputs], dtype: x.dtype)
        let floats = empty([workers, inputs], dtype: .f32)
        let (operand, rounded) = tileOperand(T.self, x)
        let panels = tilePanels(T.self, workers: workers, n: tile, k: inputs)
        let po = result.address.assumingMemoryBound(to: T.self)
        pool.run { worker, workerCount in
            let mine = scratch.address.assumingMemoryBound(to: T.self) + worker * tile * inputs
            let temporary = floats.address.assumingMemoryBound(to: Float.self) + worker * inputs
            for index in ThreadPool.chunk(tiles, worker, workerCount) {
                let rows = index * tile..<min(outputs, (index + 1) * tile)
                dequantizeRows(weight, rows, into: mine, scratch: temporary)
                productWithTile(
                    operand, m: n, tile: mine, n: rows.count, k: inputs, transposed: true, panel: panels.panel(worker),
                    into: po + rows.lowerBound, ldc: outputs, accumulate: beta == 1)
            }
        }
        withExtendedLifetime(rounded) {}
    }

    /// `dy · W`: each worker accumulates the products of its tiles of W's rows, then the
    /// accumulators are summed (workers × n × inputs extra elements: a few MiB at most).
    func inputGradient<T: TensorScalar>(_: T.Type, _ dy: Tensor, _ weight: Weight) -> Tensor {
        let (n, inputs, outputs) = (dy.shape[0], weight.columns, weight.rows)
        guard n > 0, outputs > 0 else { return zeros([n, inputs], dtype: dy.dtype) }
        let (tile, tiles) = Self.tiling(rows: outputs, columns: inputs, workers: pool.threadCount)
        let workers = min(pool.threadCount, tiles)
        let scratch = empty([workers, tile * inputs], dtype: dy.dtype)
        let floats = empty([workers, inputs], dtype: .f32)
        let accumulators = empty([workers, n * inputs], dtype: dy.dtype)
        let (operand, rounded) = tileOperand(T.self, dy)
        let panels = tilePanels(T.self, workers: workers, n: inputs, k: tile)
        let pa = accumulators.address.assumingMemoryBound(to: T.self)
        pool.run { worker, workerCount in
            guard worker < workers else { return }
            let mine = scratch.address.assumingMemoryBound(to: T.self) + worker * tile * inputs
            let temporary = floats.address.assumingMemoryBound(to: Float.self) + worker * inputs
            let accumulator = pa + worker * n * inputs
            var first = true
            for index in ThreadPool.chunk(tiles, worker, workers) {
                let rows = index * tile..<min(outputs, (index + 1) * tile)
                dequantizeRows(weight, rows, into: mine, scratch: temporary)
                productWithTile(
                    operand.columns(from: rows.lowerBound), m: n, tile: mine, n: inputs, k: rows.count, transposed: false,
                    panel: panels.panel(worker), into: accumulator, ldc: inputs, accumulate: !first)
                first = false
            }
            if first { accumulator.update(repeating: 0, count: n * inputs) }
        }
        withExtendedLifetime(rounded) {}
        let result = Tensor(buffer: accumulators.buffer, dtype: dy.dtype, shape: [n, inputs], offset: accumulators.offset)
        if workers == 1 { return result }
        let total = n * inputs
        parallel(total, elements: total * workers) { range in
            for w in 1..<workers {
                let source = pa + w * total
                for i in range { pa[i] += source[i] }
            }
        }
        return result
    }
}
