// Scalar conversions for the fp16/bf16 fields inside blocks.
//
// GGUF is little-endian and blocks have odd strides (18, 22, 34 bytes), so every field is read with an
// unaligned load. With F16C enabled (the target is built for x86-64-v3) `Float(Float16)` is one
// vcvtph2ps; both directions are exact IEEE conversions (round-to-nearest-even when narrowing),
// which is what ggml and numpy do.

@inline(__always)
func halfToFloat(_ bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }

@inline(__always)
func floatToHalf(_ value: Float) -> UInt16 { Float16(value).bitPattern }

@inline(__always)
func loadHalf(_ base: UnsafeRawPointer, _ offset: Int) -> Float {
    halfToFloat(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
}

@inline(__always)
func storeHalf(_ value: Float, _ base: UnsafeMutableRawPointer, _ offset: Int) {
    base.storeBytes(of: floatToHalf(value).littleEndian, toByteOffset: offset, as: UInt16.self)
}

/// Rounds up to the next representable fp16 so a scale stored as fp16 never shrinks the grid it was
/// computed for (the K-quant quantizers rely on this to keep every value inside the code range).
@inline(__always)
func halfRoundedUp(_ value: Float) -> Float {
    var h = Float16(value)
    if Float(h) < value { h = h.nextUp }
    return Float(h)
}

@inline(__always)
public func bf16ToFloat(_ bits: UInt16) -> Float { Float(bitPattern: UInt32(bits) << 16) }

/// ggml's rounding: NaNs stay NaN (forced quiet), everything else rounds to nearest even.
@inline(__always)
public func floatToBF16(_ value: Float) -> UInt16 {
    let bits = value.bitPattern
    if bits & 0x7FFF_FFFF > 0x7F80_0000 { return UInt16(truncatingIfNeeded: (bits >> 16) | 64) }
    return UInt16(truncatingIfNeeded: (UInt64(bits) + 0x7FFF + UInt64((bits >> 16) & 1)) >> 16)
}

@inline(__always)
func loadFloat(_ base: UnsafeRawPointer, _ offset: Int) -> Float {
    Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
}
