import Tensors

/// How a direct convolution stores and multiplies its operands: as `T` (f32, f64) through
/// `FlatCorrelation`'s kernels, or — f32 under `ProductPrecision.bfloat16` — rounded to bf16 in
/// `BFloat16Correlation`'s layouts. Buffers are raw bytes, each size a whole number of cache lines,
/// so that one skeleton (`CPUDirectConvolution`) serves both.
struct CorrelationOperands<T: TensorScalar> {
    let geometry: FlatCorrelation
    /// bf16 operands (T is Float).
    let rounded: Bool

    private static var element: Int { MemoryLayout<T>.stride }
    private static func lines(_ bytes: Int) -> Int { (bytes + 63) / 64 * 64 }

    /// Bytes of weights packed for `correlate` with `rows` output rows over `columns` input channels.
    func packedBytes(rows: Int, columns: Int) -> Int {
        let blockRows = FlatCorrelation.blocks(rows) * FlatCorrelation.outputBlock
        return Self.lines(blockRows * geometry.taps * (rounded ? (columns + 1) / 2 * 4 : columns * Self.element))
    }

    /// `FlatCorrelation.pack` or `packPairs`.
    func pack(_ weight: UnsafePointer<T>, outputs: Int, inputs: Int, transposed: Bool, into packed: UnsafeMutableRawPointer) {
        if rounded {
            FlatCorrelation.packPairs(
                floats(weight), outputs: outputs, inputs: inputs, taps: geometry.taps, transposed: transposed,
                into: packed.assumingMemoryBound(to: UInt32.self))
        } else {
            FlatCorrelation.pack(
                weight, outputs: outputs, inputs: inputs, taps: geometry.taps, transposed: transposed,
                into: packed.assumingMemoryBound(to: T.self))
        }
    }

    /// Bytes of one image's `channels` planes padded for `correlate`.
    func correlationImageBytes(channels: Int) -> Int {
        Self.lines(rounded ? geometry.pairedWords(channels: channels) * 4 : channels * geometry.planeStride * Self.element)
    }

    /// `pad` or `padPairs`.
    func padForCorrelation(_ source: UnsafePointer<T>, channels: Int, into padded: UnsafeMutableRawPointer) {
        if rounded {
            geometry.padPairs(floats(source), channels: channels, into: padded.assumingMemoryBound(to: UInt32.self))
        } else {
            geometry.pad(source, channels: channels, into: padded.assumingMemoryBound(to: T.self))
        }
    }

    /// Bytes of the flat output `correlate` writes for `rows` rows.
    func flatOutputBytes(rows: Int) -> Int {
        Self.lines(FlatCorrelation.blocks(rows) * FlatCorrelation.outputBlock * geometry.positions * Self.element)
    }

    /// `correlate` or `correlatePairs`.
    func correlate(
        _ padded: UnsafeRawPointer, channels: Int, _ packed: UnsafeRawPointer, rows: Int, into out: UnsafeMutablePointer<T>
    ) {
        if rounded {
            geometry.correlatePairs(
                padded.assumingMemoryBound(to: UInt32.self), channels: channels, packed.assumingMemoryBound(to: UInt32.self),
                rows: rows, into: floats(out))
        } else {
            geometry.correlate(
                padded.assumingMemoryBound(to: T.self), channels: channels, packed.assumingMemoryBound(to: T.self), rows: rows,
                into: out)
        }
    }

    /// Bytes of one image's `channels` planes padded for `correlateWeights`.
    func weightImageBytes(channels: Int) -> Int {
        Self.lines(channels * geometry.planeStride * (rounded ? 2 : Self.element))
    }

    /// `pad` or `padRounded`.
    func padForWeights(_ source: UnsafePointer<T>, channels: Int, into padded: UnsafeMutableRawPointer) {
        if rounded {
            geometry.padRounded(floats(source), channels: channels, into: padded.assumingMemoryBound(to: UInt16.self))
        } else {
            geometry.pad(source, channels: channels, into: padded.assumingMemoryBound(to: T.self))
        }
    }

    /// Bytes of one image's flat output gradient of `rows` rows.
    func flatGradientBytes(rows: Int) -> Int {
        Self.lines(
            rounded
                ? FlatCorrelation.roundedRows(rows) * geometry.positions * 2
                : FlatCorrelation.blocks(rows) * FlatCorrelation.outputBlock * geometry.positions * Self.element)
    }

    /// `spread` or `spreadRounded`.
    func spread(_ source: UnsafePointer<T>, rows: Int, into flat: UnsafeMutableRawPointer) {
        if rounded {
            geometry.spreadRounded(floats(source), rows: rows, into: flat.assumingMemoryBound(to: UInt16.self))
        } else {
            geometry.spread(source, rows: rows, into: flat.assumingMemoryBound(to: T.self))
        }
    }

    /// `correlateWeights` or `correlateRoundedWeights` over `images` images laid out
    /// `flatGradientBytes` and `weightImageBytes` apart.
    func correlateWeights(
        _ flat: UnsafeRawPointer, rows: Int, _ padded: UnsafeRawPointer, channels: Int, images: Int,
        into gradient: UnsafeMutablePointer<T>
    ) {
        let flatStride = flatGradientBytes(rows: rows), paddedStride = weightImageBytes(channels: channels)
        if rounded {
            geometry.correlateRoundedWeights(
                flat.assumingMemoryBound(to: UInt16.self), rows: rows, padded.assumingMemoryBound(to: UInt16.self), channels: channels,
                images: images, flatImageStride: flatStride / 2, paddedImageStride: paddedStride / 2, into: floats(gradient))
        } else {
            geometry.correlateWeights(
                flat.assumingMemoryBound(to: T.self), rows: rows, padded.assumingMemoryBound(to: T.self), channels: channels,
                images: images, flatImageStride: flatStride / Self.element, paddedImageStride: paddedStride / Self.element,
                into: gradient)
        }
    }
}
