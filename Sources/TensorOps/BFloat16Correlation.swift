import CDirectConvolution
import Quantization

/// `FlatCorrelation` with bf16 operands (`ProductPrecision.bfloat16`), on CDirectConvolution's
/// AVX512-BF16 kernels. Each VDPBF16PS lane multiplies a pair of bf16 values by another pair, so
/// every operand is laid out in pairs along the summed axis: the correlations sum over channels,
/// so their padded image holds two channels per 32-bit word (and their weights are packed the same
/// way); the weight gradient sums over positions, whose neighbours already sit side by side, so
/// its image and output gradient are plain bf16 planes. Images are rounded as they are padded —
/// the pass the f32 path makes anyway — and outputs stay f32.
extension FlatCorrelation {
    /// Rows of a bf16 flat output gradient: the weight kernel reads four at a time.
    static func roundedRows(_ rows: Int) -> Int { (rows + 3) / 4 * 4 }

    /// 32-bit words of `channels` padded planes in channel pairs.
    func pairedWords(channels: Int) -> Int { (channels + 1) / 2 * planeStride }

    /// `pad` into channel pairs rounded to bf16 (channel 2k in each word's low half).
    func padPairs(_ source: UnsafePointer<Float>, channels: Int, into padded: UnsafeMutablePointer<UInt32>) {
        atl_bf16_pad_channel_pairs(
            source, Int64(channels), Int64(sourceHeight), Int64(sourceWidth), Int64(padHeight), Int64(padWidth), Int64(planeStride),
            padded)
    }

    /// `pad` rounded to bf16: `channels` planes of `planeStride` values.
    func padRounded(_ source: UnsafePointer<Float>, channels: Int, into padded: UnsafeMutablePointer<UInt16>) {
        atl_bf16_pad_planes(
            source, Int64(channels), Int64(sourceHeight), Int64(sourceWidth), Int64(padHeight), Int64(padWidth), Int64(planeStride),
            padded)
    }

    /// `spread` rounded to bf16, rows up to `roundedRows(rows)`.
    func spreadRounded(_ source: UnsafePointer<Float>, rows: Int, into flat: UnsafeMutablePointer<UInt16>) {
        atl_bf16_spread(source, Int64(rows), Int64(outputHeight), Int64(outputWidth), Int64(paddedWidth), Int64(positions), flat)
    }

    /// `pack` in bf16 channel pairs: for each block of eight output rows, each pair of columns and
    /// tap, the eight rows' words (column 2k in the low half; zeros past the last row or column).
    static func packPairs(
        _ weight: UnsafePointer<Float>, outputs: Int, inputs: Int, taps: Int, transposed: Bool, into packed: UnsafeMutablePointer<UInt32>
    ) {
        let rows = transposed ? inputs : outputs
        let columns = transposed ? outputs : inputs
        func value(_ row: Int, _ column: Int, _ tap: Int) -> UInt32 {
            guard row < rows && column < columns else { return 0 }
            let w = transposed ? weight[(column * inputs + row) * taps + taps - 1 - tap] : weight[(row * inputs + column) * taps + tap]
            return UInt32(floatToBF16(w))
        }
        var p = packed
        for block in 0..<blocks(rows) {
            for pair in 0..<((columns + 1) / 2) {
                for tap in 0..<taps {
                    for lane in 0..<outputBlock {
                        let row = block * outputBlock + lane
                        p[lane] = value(row, 2 * pair, tap) | value(row, 2 * pair + 1, tap) << 16
                    }
                    p += outputBlock
                }
            }
        }
    }

    /// `correlate` on channel pairs from `padPairs` and weights from `packPairs`.
    func correlatePairs(
        _ padded: UnsafePointer<UInt32>, channels: Int, _ packed: UnsafePointer<UInt32>, rows: Int, into out: UnsafeMutablePointer<Float>
    ) {
        offsets.withUnsafeBufferPointer { offsets in
            atl_bf16_correlate(
                padded, Int64((channels + 1) / 2), Int64(planeStride), int64s(offsets), Int64(taps), packed, Int64(Self.blocks(rows)),
                Int64(positions), out)
        }
    }

    /// bf16 values of `rows` rows of a flat gradient from `spreadRounded`.
    static func roundedFlatValues(rows: Int, positions: Int) -> Int { roundedRows(rows) * positions }

    /// `correlateWeights` on flat gradients from `spreadRounded` and planes from `padRounded`.
    func correlateRoundedWeights(
        _ flat: UnsafePointer<UInt16>, rows: Int, _ padded: UnsafePointer<UInt16>, channels: Int, images: Int, flatImageStride: Int,
        paddedImageStride: Int, into gradient: UnsafeMutablePointer<Float>
    ) {
        offsets.withUnsafeBufferPointer { offsets in
            atl_bf16_correlate_weights(
                flat, Int64(rows), Int64(positions), padded, Int64(channels), Int64(planeStride), int64s(offsets), Int64(taps),
                Int64(images), Int64(flatImageStride), Int64(paddedImageStride), gradient)
        }
    }
}
