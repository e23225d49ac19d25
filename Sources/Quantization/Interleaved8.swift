import GGUF

/// Weights repacked at load so that eight rows are multiplied at once, one row per SIMD lane.
///
/// A row-major quantized matrix is a sequence of 32-element blocks per row. Here rows come in
/// groups of eight; a group stores its blocks in order, and "group block" i holds block i of all
/// eight rows, arranged so that one 32-byte load yields, in 32-bit lane k, four consecutive codes of
/// row k. A dot product then broadcasts four activation codes to all lanes, so one `maddubs`
/// advances eight rows by four elements and no horizontal sum is needed: the eight results leave
/// as one vector store. Same bytes as the original (scales stay f16), so bandwidth is unchanged;
/// the instruction count per weight drops by ~2.4x for 4-bit codes (docs/BENCHMARKS.md).
///
/// Group block layouts (k = row within the group, e = 0..3, t = 0..3, g = 0..7):
/// - Q4_0: d[8] f16 | codes[128]                     (144 bytes = 8 × 18)
/// - Q4_1: d[8] f16 | m[8] f16 | codes[128]          (160 bytes = 8 × 20)
/// - Q5_0: d[8] f16 | fifth bits[32] | codes[128]    (176 bytes = 8 × 22)
/// - Q8_0: d[8] f16 | codes[256]                     (272 bytes = 8 × 34)
/// 4-bit codes: byte 32t + 4k + e has element 4t+e of row k in its low nibble and element
/// 16+4t+e in its high nibble — which is exactly byte 4t+e of row k's `qs`, so repacking only
/// moves 4-byte words. Q5_0's fifth bits: bit g of byte 4k + e is the fifth bit of element 4g+e
/// of row k. Q8_0's codes: byte 32g + 4k + e is element 4g+e of row k.
///
/// Q8_0 (the models' embedding/output tables) was first kept in a four-row layout, because its
/// signed codes need a `sign` per vector here; moving the sign onto the activations (|c| is shared
/// by every activation row) and dropping that layout's horizontal adds made the four-row loop of a
/// server's logits pass ~22 % faster (C version of both loops) and one-row products no slower.
///
/// Activations pair with "Q8S" blocks (36 bytes: f16 d, then for Q4_1 ggml's f16 s = d·Σq as in
/// Q8_1, for the other types the exact i16 Σq; then 32 codes). The exact sum lets unsigned 4/5-bit
/// codes stand in for signed ones: Σ(u−8)y = Σuy − 8Σy, integer-exact as ggml's signed product.
/// Q8_0 uses only d and the codes, which equal the Q8_0 activation block llama.cpp makes.
public enum Interleaved8 {
    public static let rowsPerGroup = 8
    public static let activationBlockBytes = 36

    /// Types with an interleaved kernel (x86-64 AVX2 only; elsewhere weights stay row-major).
    public static func supports(_ type: GGMLType) -> Bool {
        #if arch(x86_64)
        return [GGMLTypeID.q4_0, .q4_1, .q5_0, .q8_0].contains(type.id)
        #else
        return false
        #endif
    }

    /// Bytes of one group block (eight row blocks).
    public static func groupBlockBytes(_ type: GGMLType) -> Int { 8 * type.typeSize }

    /// Repacks row groups `groups` of a row-major matrix (`rowBytes` per row) into `destination`,
    /// which holds the whole interleaved matrix. Rows must be a multiple of 8.
    public static func repack(
        _ type: GGMLType, source: UnsafeRawPointer, rowBytes: Int, groups: Range<Int>,
        into destination: UnsafeMutableRawPointer
    ) {
        precondition(supports(type), "repack: \(type.name) has no interleaved layout")
        let blocks = rowBytes / type.typeSize
        let groupBytes = groupBlockBytes(type)
        for group in groups {
            let rows = source + group * 8 * rowBytes
            let out = destination + group * blocks * groupBytes
            for i in 0..<blocks {
                repackBlock(type.id, rows + i * type.typeSize, rowBytes, out + i * groupBytes)
            }
        }
    }

    @inline(__always)
    private static func repackBlock(_ type: GGMLTypeID, _ first: UnsafeRawPointer, _ rowBytes: Int, _ out: UnsafeMutableRawPointer) {
        @inline(__always) func row(_ k: Int) -> UnsafeRawPointer { first + k * rowBytes }
        @inline(__always) func copyWords(codesAt qs: Int, to codes: Int, words: Int) {
            // Word w of row k's codes goes to lane k of 32-byte vector w.
            for w in 0..<words {
                for k in 0..<8 {
                    out.storeBytes(
                        of: row(k).loadUnaligned(fromByteOffset: qs + 4 * w, as: UInt32.self),
                        toByteOffset: codes + 32 * w + 4 * k, as: UInt32.self)
                }
            }
        }
        for k in 0..<8 { out.storeBytes(of: row(k).loadUnaligned(as: UInt16.self), toByteOffset: 2 * k, as: UInt16.self) }
        switch type {
        case .q4_0: copyWords(codesAt: 2, to: 16, words: 4)
        case .q4_1:
            for k in 0..<8 {
                out.storeBytes(of: row(k).loadUnaligned(fromByteOffset: 2, as: UInt16.self), toByteOffset: 16 + 2 * k, as: UInt16.self)
            }
            copyWords(codesAt: 4, to: 32, words: 4)
        case .q5_0:
            for k in 0..<8 {
                let qh = UInt32(littleEndian: row(k).loadUnaligned(fromByteOffset: 2, as: UInt32.self))
                for e in 0..<4 {
                    var byte: UInt8 = 0
                    for g in 0..<8 { byte |= UInt8((qh >> UInt32(4 * g + e)) & 1) << UInt8(g) }
                    out.storeBytes(of: byte, toByteOffset: 16 + 4 * k + e, as: UInt8.self)
                }
            }
            copyWords(codesAt: 6, to: 48, words: 4)
        case .q8_0: copyWords(codesAt: 2, to: 16, words: 8)
        default: preconditionFailure("repack: no interleaved layout for ggml type \(type)")
        }
    }

    /// Dequantizes row `row` of an interleaved matrix with `columns` columns (for embedding lookups
    /// in a table that is also the output projection). Equal to `Quantization.dequantize` on the
    /// original row.
    public static func dequantizeRow(
        _ type: GGMLType, data: UnsafeRawPointer, columns: Int, row: Int, into out: UnsafeMutablePointer<Float>
    ) {
        let blocks = columns / 32
        let groupBytes = groupBlockBytes(type)
        let (group, k) = row.quotientAndRemainder(dividingBy: 8)
        let base = data + group * blocks * groupBytes
        withUnsafeTemporaryAllocation(byteCount: type.typeSize, alignment: 4) { block in
            for i in 0..<blocks {
                let gb = base + i * groupBytes
                let b = block.baseAddress!
                b.storeBytes(of: gb.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self), as: UInt16.self)
                switch type.id {
                case .q4_0: copyRowWords(gb + 16, k, b + 2, words: 4)
                case .q4_1:
                    b.storeBytes(of: gb.loadUnaligned(fromByteOffset: 16 + 2 * k, as: UInt16.self), toByteOffset: 2, as: UInt16.self)
                    copyRowWords(gb + 32, k, b + 4, words: 4)
                case .q5_0:
                    var qh: UInt32 = 0
                    for e in 0..<4 {
                        let byte = UInt32(gb.load(fromByteOffset: 16 + 4 * k + e, as: UInt8.self))
                        for g in 0..<8 { qh |= ((byte >> UInt32(g)) & 1) << UInt32(4 * g + e) }
                    }
                    b.storeBytes(of: qh.littleEndian, toByteOffset: 2, as: UInt32.self)
                    copyRowWords(gb + 48, k, b + 6, words: 4)
                case .q8_0: copyRowWords(gb + 16, k, b + 2, words: 8)
                default: preconditionFailure("dequantizeRow: \(type.name) has no interleaved layout")
                }
                Quantization.dequantize(type, from: UnsafeRawPointer(b), to: out + 32 * i, count: 32)
            }
        }
    }

    private static func copyRowWords(_ codes: UnsafeRawPointer, _ k: Int, _ to: UnsafeMutableRawPointer, words: Int) {
        for w in 0..<words {
            to.storeBytes(of: codes.loadUnaligned(fromByteOffset: 32 * w + 4 * k, as: UInt32.self), toByteOffset: 4 * w, as: UInt32.self)
        }
    }

    /// Bytes of one activation row of `count` elements.
    public static func activationRowBytes(count: Int) -> Int { count / 32 * activationBlockBytes }

    /// Quantizes an activation row into Q8S blocks for `type`'s interleaved kernel (llama.cpp's
    /// run-time rounding, see `ActivationQuantizer`).
    public static func quantizeActivations(
        _ x: UnsafePointer<Float>, count: Int, for type: GGMLType, into destination: UnsafeMutableRawPointer
    ) {
        ActivationQuantizer.quantize(x, count: count, sum: type.id == .q4_1 ? .scaled : .exact, into: destination)
    }
}
