import CDirectConvolution

/// Direct convolution for the common case — stride 1, no dilation, one group, a kernel wider than
/// one pixel (ResNet's 3×3, LeNet's 5×5) — without im2col. Measured on ResNet-20 (batch 128, one
/// thread), im2col + GEMM spent more time copying patches (im2col 22 %, col2im 9 %, OpenBLAS
/// packing 12 %) than multiplying (27 %); these kernels read the padded image in place.
///
/// The trick that keeps the inner loops free of bounds checks: pad each channel once and treat it as
/// one flat row of `paddedWidth`-long lines. Output position (oh, ow) then reads, for tap (i, j),
/// the padded value at flat index `oh·paddedWidth + ow + i·paddedWidth + j`, so the whole output is
/// a 1-D correlation over flat positions `q = oh·paddedWidth + ow` with one offset per tap. The
/// positions with `ow ≥ outputWidth` wrap into the next line: they are computed and thrown away
/// (6 % extra work at 32×32 with 3×3, 25 % at 8×8).
///
/// Backward: the input gradient is the same correlation of the output gradient (padded by
/// kernel − 1 − padding) with the kernel flipped and its channel axes swapped; the weight gradient
/// correlates the output gradient, laid out on the same flat positions with zeros at the thrown-away
/// ones, with the padded input.
struct FlatCorrelation {
    /// Output rows packed together: the AVX-512 kernel computes eight at a time, the SIMD8 one four
    /// (one half of a block, 4 rows × 16 positions = 8 accumulators).
    static let outputBlock = 8
    /// Flat positions per `correlate` step (16 here; 32 in the AVX-512 kernel, which ends with a
    /// step of 16 where needed); `positions` is a multiple of it.
    static let positionTile = 16
    /// f32 runs the AVX-512 kernels of CDirectConvolution where the CPU has them (twice the lanes).
    static let usesAVX512 = atl_has_avx512() != 0

    let kernelHeight: Int, kernelWidth: Int
    let sourceHeight: Int, sourceWidth: Int
    let padHeight: Int, padWidth: Int
    let outputHeight: Int, outputWidth: Int
    /// Line length of the padded source, and of the flat output.
    let paddedWidth: Int
    /// Flat output positions computed: `outputHeight · paddedWidth`, rounded up to `positionTile`.
    let positions: Int
    /// Length of one padded channel: the farthest tap of the last position stays inside it.
    let planeStride: Int
    /// Tap (i, j), numbered i·kernelWidth + j, reads at flat offset i·paddedWidth + j.
    let offsets: [Int]

    init(sourceHeight: Int, sourceWidth: Int, kernelHeight: Int, kernelWidth: Int, padHeight: Int, padWidth: Int) {
        (self.sourceHeight, self.sourceWidth) = (sourceHeight, sourceWidth)
        (self.kernelHeight, self.kernelWidth) = (kernelHeight, kernelWidth)
        (self.padHeight, self.padWidth) = (padHeight, padWidth)
        paddedWidth = sourceWidth + 2 * padWidth
        outputHeight = sourceHeight + 2 * padHeight - kernelHeight + 1
        outputWidth = paddedWidth - kernelWidth + 1
        precondition(outputHeight >= 1 && outputWidth >= 1, "direct convolution kernel larger than its padded source")
        let tile = Self.positionTile
        positions = (outputHeight * paddedWidth + tile - 1) / tile * tile
        planeStride = positions + (kernelHeight - 1) * paddedWidth + kernelWidth - 1
        var offsets: [Int] = []
        for i in 0..<kernelHeight {
            for j in 0..<kernelWidth { offsets.append(i * paddedWidth + j) }
        }
        self.offsets = offsets
    }

    var taps: Int { kernelHeight * kernelWidth }
    /// `rows` rounded up to whole output blocks.
    static func blocks(_ rows: Int) -> Int { (rows + outputBlock - 1) / outputBlock }

    /// Copies `channels` planes of `source` into `padded` (planeStride apart) with zeros around and after them.
    func pad<T: TensorScalar>(_ source: UnsafePointer<T>, channels: Int, into padded: UnsafeMutablePointer<T>) {
        let top = padHeight * paddedWidth
        let body = sourceHeight * paddedWidth
        for channel in 0..<channels {
            let plane = padded + channel * planeStride
            let image = source + channel * sourceHeight * sourceWidth
            plane.update(repeating: 0, count: top + padWidth)
            for h in 0..<sourceHeight {
                let line = plane + top + h * paddedWidth + padWidth
                let row = image + h * sourceWidth
                RowMap.copy(row, into: line, count: sourceWidth)
                // The right padding of this line and the left padding of the next are adjacent.
                for w in sourceWidth..<(sourceWidth + 2 * padWidth) { line[w] = 0 }
            }
            let written = top + body + padWidth
            (plane + written).update(repeating: 0, count: planeStride - written)
        }
    }

    /// Lays `rows` planes of an output-shaped tensor onto flat positions (zeros at the thrown-away
    /// ones), `positions` apart, and zero-fills the rows up to whole output blocks.
    func spread<T: TensorScalar>(_ source: UnsafePointer<T>, rows: Int, into flat: UnsafeMutablePointer<T>) {
        flat.update(repeating: 0, count: Self.blocks(rows) * Self.outputBlock * positions)
        for row in 0..<rows {
            let plane = source + row * outputHeight * outputWidth
            let target = flat + row * positions
            for oh in 0..<outputHeight {
                let line = target + oh * paddedWidth
                let values = plane + oh * outputWidth
                RowMap.copy(values, into: line, count: outputWidth)
            }
        }
    }

    /// Copies the kept positions of `rows` flat planes into an output-shaped tensor, adding `bias[row]`.
    func gather<T: TensorScalar>(_ flat: UnsafePointer<T>, rows: Int, bias: UnsafePointer<T>?, into target: UnsafeMutablePointer<T>) {
        for row in 0..<rows {
            let plane = target + row * outputHeight * outputWidth
            let source = flat + row * positions
            let shift = bias?[row] ?? 0
            for oh in 0..<outputHeight {
                let line = source + oh * paddedWidth
                let values = plane + oh * outputWidth
                RowMap.affine(line, values, scale: 1, shift: shift, count: outputWidth)
            }
        }
    }

    /// Weights for `correlate`: for each block of four output rows, for each input channel and tap,
    /// the four rows' weights side by side (zeros past the last row). `weight` is [O, C, kh, kw];
    /// `transposed` packs the input-gradient kernel instead: outputs and inputs swapped, taps reversed.
    static func pack<T: TensorScalar>(
        _ weight: UnsafePointer<T>, outputs: Int, inputs: Int, taps: Int, transposed: Bool, into packed: UnsafeMutablePointer<T>
    ) {
        let rows = transposed ? inputs : outputs
        let columns = transposed ? outputs : inputs
        var p = packed
        for block in 0..<blocks(rows) {
            for column in 0..<columns {
                for tap in 0..<taps {
                    for lane in 0..<outputBlock {
                        let row = block * outputBlock + lane
                        if row >= rows {
                            p[lane] = 0
                        } else if transposed {
                            p[lane] = weight[(column * inputs + row) * taps + taps - 1 - tap]
                        } else {
                            p[lane] = weight[(row * inputs + column) * taps + tap]
                        }
                    }
                    p += outputBlock
                }
            }
        }
    }

    /// out[r][q] = Σ_c Σ_t packed(r, c, t) · padded[c][q + offsets[t]] for every row block and flat position.
    func correlate<T: TensorScalar>(
        _ padded: UnsafePointer<T>, channels: Int, _ packed: UnsafePointer<T>, rows: Int, into out: UnsafeMutablePointer<T>
    ) {
        let taps = self.taps
        let positions = self.positions
        let planeStride = self.planeStride
        offsets.withUnsafeBufferPointer { offsets in
            if T.self == Float.self && Self.usesAVX512 {
                atl_correlate_f32_avx512(
                    floats(padded), Int64(channels), Int64(planeStride), int64s(offsets), Int64(taps), floats(packed),
                    Int64(Self.blocks(rows)), Int64(positions), floats(out))
                return
            }
            for half in 0..<(Self.blocks(rows) * 2) {
                // Rows 4·half ..< 4·half + 4: lanes 0–3 or 4–7 of their block's packed weights.
                let weights = packed + (half / 2) * channels * taps * Self.outputBlock + (half % 2) * 4
                let rowsOut = out + half * 4 * positions
                var q = 0
                while q < positions {
                    var (a0, a1, a2, a3) = (SIMD8<T>(), SIMD8<T>(), SIMD8<T>(), SIMD8<T>())
                    var (b0, b1, b2, b3) = (SIMD8<T>(), SIMD8<T>(), SIMD8<T>(), SIMD8<T>())
                    var w = weights
                    for channel in 0..<channels {
                        let line = padded + channel * planeStride + q
                        for tap in 0..<taps {
                            let p = line + offsets[tap]
                            let x0 = RowReduction.load(p, 0), x1 = RowReduction.load(p, 8)
                            let w0 = SIMD8(repeating: w[0]), w1 = SIMD8(repeating: w[1])
                            a0.addProduct(x0, w0)
                            b0.addProduct(x1, w0)
                            a1.addProduct(x0, w1)
                            b1.addProduct(x1, w1)
                            let w2 = SIMD8(repeating: w[2]), w3 = SIMD8(repeating: w[3])
                            a2.addProduct(x0, w2)
                            b2.addProduct(x1, w2)
                            a3.addProduct(x0, w3)
                            b3.addProduct(x1, w3)
                            w = w.advanced(by: Self.outputBlock)
                        }
                    }
                    let o = rowsOut + q
                    RowReduction.store(a0, o, 0)
                    RowReduction.store(b0, o, 8)
                    RowReduction.store(a1, o, positions)
                    RowReduction.store(b1, o, positions + 8)
                    RowReduction.store(a2, o, 2 * positions)
                    RowReduction.store(b2, o, 2 * positions + 8)
                    RowReduction.store(a3, o, 3 * positions)
                    RowReduction.store(b3, o, 3 * positions + 8)
                    q &+= 16
                }
            }
        }
    }

    /// Images whose weight-gradient sums `correlateWeights` runs together: enough for about a
    /// thousand positions (at most eight), so that ResNet's 8 × 8 and 16 × 16 stages do not spend
    /// as long reducing the accumulators as filling them.
    var weightGradientImages: Int { max(1, min(8, 1024 / positions)) }

    /// gradient[r][c][t] += Σ_i Σ_q flat_i[r][q] · padded_i[c][q + offsets[t]]: the weight gradient
    /// over `images` images, with each `flat_i` from `spread` (zeros at thrown-away positions, rows up
    /// to whole blocks; `flatImageStride` apart), each `padded_i` from `pad` (`paddedImageStride`
    /// apart) and `gradient` [rows, channels, taps].
    func correlateWeights<T: TensorScalar>(
        _ flat: UnsafePointer<T>, rows: Int, _ padded: UnsafePointer<T>, channels: Int, images: Int, flatImageStride: Int,
        paddedImageStride: Int, into gradient: UnsafeMutablePointer<T>
    ) {
        let taps = self.taps
        let positions = self.positions
        func add(_ sum: SIMD8<T>, row: Int, channel: Int, tap: Int) {
            if row < rows { gradient[(row * channels + channel) * taps + tap] += sum.sum() }
        }
        offsets.withUnsafeBufferPointer { offsets in
            if T.self == Float.self && Self.usesAVX512 {
                atl_correlate_weights_f32_avx512(
                    floats(flat), Int64(rows), Int64(positions), floats(padded), Int64(channels), Int64(planeStride),
                    int64s(offsets), Int64(taps), Int64(images), Int64(flatImageStride), Int64(paddedImageStride), floats(gradient))
                return
            }
            for image in 0..<images {
                let (flat, padded) = (flat + image * flatImageStride, padded + image * paddedImageStride)
                for group in 0..<((rows + 3) / 4) {
                    // Four gradient rows; positions are in range by construction, so the
                    // index arithmetic below wraps instead of checking (checked adds cost a third of the loop).
                    let d0 = flat + group * 4 * positions
                    let (d1, d2, d3) = (d0 + positions, d0 + 2 * positions, d0 + 3 * positions)
                    let first = group * 4
                    for channel in 0..<channels {
                        let plane = padded + channel * planeStride
                        var tap = 0
                        while tap + 2 <= taps {
                            let p0 = plane + offsets[tap], p1 = plane + offsets[tap + 1]
                            var (a0, a1, a2, a3) = (SIMD8<T>(), SIMD8<T>(), SIMD8<T>(), SIMD8<T>())
                            var (b0, b1, b2, b3) = (SIMD8<T>(), SIMD8<T>(), SIMD8<T>(), SIMD8<T>())
                            var q = 0
                            while q < positions {
                                let g0 = RowReduction.load(d0, q), g1 = RowReduction.load(d1, q)
                                let g2 = RowReduction.load(d2, q), g3 = RowReduction.load(d3, q)
                                let x0 = RowReduction.load(p0, q)
                                a0.addProduct(g0, x0)
                                a1.addProduct(g1, x0)
                                a2.addProduct(g2, x0)
                                a3.addProduct(g3, x0)
                                let x1 = RowReduction.load(p1, q)
                                b0.addProduct(g0, x1)
                                b1.addProduct(g1, x1)
                                b2.addProduct(g2, x1)
                                b3.addProduct(g3, x1)
                                q &+= 8
                            }
                            add(a0, row: first, channel: channel, tap: tap)
                            add(a1, row: first + 1, channel: channel, tap: tap)
                            add(a2, row: first + 2, channel: channel, tap: tap)
                            add(a3, row: first + 3, channel: channel, tap: tap)
                            add(b0, row: first, channel: channel, tap: tap + 1)
                            add(b1, row: first + 1, channel: channel, tap: tap + 1)
                            add(b2, row: first + 2, channel: channel, tap: tap + 1)
                            add(b3, row: first + 3, channel: channel, tap: tap + 1)
                            tap += 2
                        }
                        if tap < taps {
                            let p0 = plane + offsets[tap]
                            var (a0, a1, a2, a3) = (SIMD8<T>(), SIMD8<T>(), SIMD8<T>(), SIMD8<T>())
                            var q = 0
                            while q < positions {
                                let x0 = RowReduction.load(p0, q)
                                a0.addProduct(RowReduction.load(d0, q), x0)
                                a1.addProduct(RowReduction.load(d1, q), x0)
                                a2.addProduct(RowReduction.load(d2, q), x0)
                                a3.addProduct(RowReduction.load(d3, q), x0)
                                q &+= 8
                            }
                            add(a0, row: first, channel: channel, tap: tap)
                            add(a1, row: first + 1, channel: channel, tap: tap)
                            add(a2, row: first + 2, channel: channel, tap: tap)
                            add(a3, row: first + 3, channel: channel, tap: tap)
                        }
                    }
                }
            }
        }
    }
}

/// The same memory seen as f32 (checked by the caller: T is Float) or the offsets as the C kernels' int64_t.
@inline(__always) func floats<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> {
    UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
}
@inline(__always) func floats<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
}
@inline(__always) func int64s(_ offsets: UnsafeBufferPointer<Int>) -> UnsafePointer<Int64> {
    UnsafeRawPointer(offsets.baseAddress!).assumingMemoryBound(to: Int64.self)
}
