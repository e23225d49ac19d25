import GGUF

/// Q8_0 weights repacked at load in groups of four rows, so one block's four scales load as one
/// vector and four rows' block products are combined (`hadd`) and scaled by a single FMA.
///
/// Group block i (136 bytes = 4 × 34): d[4] f16 | codes of row 0 (32) | row 1 | row 2 | row 3.
/// Same bytes as the file; activations stay Q8_0, so the arithmetic is ggml's: per block the exact
/// integer Σ c·y times d_w·d_y, summed in f32.
///
/// Why not the eight-row layout of `Interleaved8`: Q8_0's signed codes need two `sign`
/// operations per vector there, which made one-row products slower than row-major; here each
/// row's codes stay contiguous and the saving comes from the scale path (one vector conversion
/// and one FMA per four row-blocks instead of a scalar f16 conversion, a broadcast and an FMA
/// per row-block) and from finishing four rows with one store.
public enum Interleaved4 {
    public static let rowsPerGroup = 4

    public static func supports(_ type: GGMLType) -> Bool {
        #if arch(x86_64)
        return type.rawValue == GGMLType.q8_0.rawValue
        #else
        return false
        #endif
    }

    /// Repacks row groups `groups` of a row-major Q8_0 matrix into `destination` (the whole matrix).
    public static func repack(_ type: GGMLType, source: UnsafeRawPointer, rowBytes: Int, groups: Range<Int>,
                              into destination: UnsafeMutableRawPointer) {
        precondition(supports(type), "repack: \(type.name) has no four-row layout")
        let blocks = rowBytes / 34
        for group in groups {
            let rows = source + group * 4 * rowBytes
            let out = destination + group * blocks * 136
            for i in 0..<blocks {
                let gb = out + i * 136
                for k in 0..<4 {
                    let block = rows + k * rowBytes + i * 34
                    gb.storeBytes(of: block.loadUnaligned(as: UInt16.self), toByteOffset: 2 * k, as: UInt16.self)
                    (gb + 8 + 32 * k).copyMemory(from: block + 2, byteCount: 32)
                }
            }
        }
    }

    /// Whether any weight code of a repacked matrix is −128 (byte 0x80), which the symmetric kernel
    /// cannot take. Scans the repacked copy, which is resident anyway.
    public static func containsCodeMinus128(_ data: UnsafeRawPointer, byteCount: Int) -> Bool {
        let high: UInt64 = 0x8080_8080_8080_8080, ones: UInt64 = 0x0101_0101_0101_0101
        var found: UInt64 = 0
        for group in 0..<(byteCount / 136) {
            let codes = data + group * 136 + 8
            for k in 0..<16 {
                // A byte of x is zero exactly where the code is 0x80; this flags any zero byte.
                let x = codes.loadUnaligned(fromByteOffset: 8 * k, as: UInt64.self) ^ high
                found |= (x &- ones) & ~x & high
            }
            if found != 0 { return true }
        }
        return false
    }

    /// Row `row` of a four-row-interleaved Q8_0 matrix, dequantized (embedding lookups).
    public static func dequantizeRow(_ type: GGMLType, data: UnsafeRawPointer, columns: Int, row: Int, into out: UnsafeMutablePointer<Float>) {
        let blocks = columns / 32
        let (group, k) = row.quotientAndRemainder(dividingBy: 4)
        let base = data + group * blocks * 136
        for i in 0..<blocks {
            let gb = base + i * 136
            let d = loadHalf(gb, 2 * k)
            for e in 0..<32 { out[32 * i + e] = Float(gb.load(fromByteOffset: 8 + 32 * k + e, as: Int8.self)) * d }
        }
    }
}
