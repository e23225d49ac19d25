import CBFloat16GEMM
import Tensors

/// The left operand of products with frozen tiles: f32 rows for GEMM, and the same rows rounded to
/// bf16 when the backend computes in bf16 (rounded once, shared by every tile's product).
struct TileOperand<T: TensorScalar> {
    let rows: UnsafePointer<T>
    let stride: Int
    /// The rows in bf16 (each padded to an even length), when products run in bf16.
    let rounded: UnsafePointer<UInt16>?
    let roundedStride: Int

    /// The length of a row rounded to bf16: padded to whole pairs.
    static func roundedStride(columns: Int) -> Int { (columns + 1) / 2 * 2 }

    /// f32 rows only, for GEMM.
    init(rows: UnsafePointer<T>, columns: Int) { (self.rows, stride, rounded, roundedStride) = (rows, columns, nil, 0) }

    init(rows: UnsafePointer<T>, stride: Int, rounded: UnsafePointer<UInt16>?, roundedStride: Int) {
        (self.rows, self.stride, self.rounded, self.roundedStride) = (rows, stride, rounded, roundedStride)
    }

    /// Elements `offset…` of every row: the part of a row that meets rows `offset…` of a tile.
    func columns(from offset: Int) -> TileOperand {
        // bf16 pairs start at even columns: every tile but the last is a multiple of 8 rows long.
        precondition(rounded == nil || offset % 2 == 0, "bf16 tile operands start at even columns, not \(offset)")
        return TileOperand(rows: rows + offset, stride: stride, rounded: rounded.map { $0 + offset }, roundedStride: roundedStride)
    }
}

extension CPUTensorBackend {
    /// Whether products of frozen tiles with `T` operands run the bf16 kernels.
    func roundsTiles<T: TensorScalar>(_: T.Type) -> Bool { T.self == Float.self && frozenPrecision == .bfloat16 }

    /// `x` (contiguous [rows, columns]) as a tile operand, its rows rounded over the pool; `storage`
    /// keeps the bf16 copy alive.
    func tileOperand<T: TensorScalar>(_: T.Type, _ x: Tensor) -> (operand: TileOperand<T>, storage: Tensor?) {
        let (rows, columns) = (x.shape[0], x.shape[1])
        let pointer = x.address.assumingMemoryBound(to: T.self)
        guard roundsTiles(T.self) else { return (TileOperand(rows: pointer, columns: columns), nil) }
        let stride = TileOperand<T>.roundedStride(columns: columns)
        let rounded = empty([max(rows, 1), stride], dtype: .bf16)
        let target = rounded.address.assumingMemoryBound(to: UInt16.self)
        parallel(rows, elements: rows * columns) { range in
            _ = roundedTileOperand(
                pointer + range.lowerBound * columns, rows: range.count, columns: columns, into: target + range.lowerBound * stride)
        }
        return (TileOperand(rows: pointer, stride: columns, rounded: target, roundedStride: stride), rounded)
    }

    /// Dense rows `x` [rows, columns] as a tile operand, rounded on this thread into `storage`
    /// (rows × `TileOperand.roundedStride(columns:)` bf16 values) when it is given.
    func roundedTileOperand<T: TensorScalar>(
        _ x: UnsafeMutablePointer<T>, rows: Int, columns: Int, into storage: UnsafeMutablePointer<UInt16>?
    ) -> TileOperand<T> {
        guard let storage, roundsTiles(T.self) else { return TileOperand(rows: x, columns: columns) }
        let stride = TileOperand<T>.roundedStride(columns: columns)
        atl_bf16_convert_rows(
            UnsafeRawPointer(x).assumingMemoryBound(to: Float.self), Int64(columns), Int64(rows), Int64(columns), storage, Int64(stride))
        return TileOperand(rows: x, stride: columns, rounded: storage, roundedStride: stride)
    }

    /// Per-worker panel buffers for a product's right operand of up to `k` × `n` (none in f32):
    /// a tile of n rows for `productWithTile(transposed: true)`, of k rows otherwise.
    func tilePanels<T: TensorScalar>(_: T.Type, workers: Int, n: Int, k: Int) -> TilePanels {
        guard roundsTiles(T.self) else { return TilePanels(storage: nil, words: 0) }
        let words = Int(atl_bf16_panel_words(Int64(n), Int64(k)))
        return TilePanels(storage: empty([workers, words], dtype: .i32), words: words)
    }

    /// `c = a · tileᵀ` when `transposed` (tile [n, k]), else `c = a · tile` (tile [k, n]); plus c when
    /// `accumulate`. `a` [m, k]; `tile` dense; `c` [m, n] with row stride `ldc`.
    func productWithTile<T: TensorScalar>(
        _ a: TileOperand<T>, m: Int, tile: UnsafePointer<T>, n: Int, k: Int, transposed: Bool, panel: UnsafeMutablePointer<UInt32>?,
        into c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool
    ) {
        guard let rounded = a.rounded, let panel else {
            T.gemm(
                transposeA: false, transposeB: transposed, m: m, n: n, k: k, alpha: 1, a: a.rows, lda: a.stride, b: tile,
                ldb: transposed ? k : n, beta: accumulate ? 1 : 0, c: c, ldc: ldc)
            return
        }
        let floats = UnsafeRawPointer(tile).assumingMemoryBound(to: Float.self)
        if transposed {
            atl_bf16_pack_transposed(floats, Int64(k), Int64(n), Int64(k), panel)
        } else {
            atl_bf16_pack(floats, Int64(n), Int64(k), Int64(n), panel)
        }
        atl_bf16_gemm(
            Int64(m), Int64(n), Int64(k), rounded, Int64(a.roundedStride), panel,
            UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self),
            Int64(ldc), accumulate ? 1 : 0)
    }
}

/// One bf16 panel buffer per worker (or none, in f32).
struct TilePanels {
    let storage: Tensor?
    let words: Int

    func panel(_ worker: Int) -> UnsafeMutablePointer<UInt32>? {
        storage.map { $0.address.assumingMemoryBound(to: UInt32.self) + worker * words }
    }
}
