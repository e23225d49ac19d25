#if arch(x86_64)
import _Builtin_intrinsics.intel
#endif

/// Where unquoted fields end: the delimiter and newline bytes of a 64-byte block found at once as a
/// bitmask, so each field's end costs a trailing-zero count. A byte loop instead ends on a branch
/// whose outcome changes with every field's length, and that misprediction, not the bytes, was
/// most of what splitting records cost.
///
/// Blocks are aligned to the buffer's start and read whole, so the buffer must stay readable up to
/// `CSVBytes.padding` bytes past `end` (what lies there is masked off, never reported).
struct FieldEndScanner {
    let bytes: UnsafePointer<UInt8>
    let end: Int
    let delimiter: UInt8
    static let blockBytes = 64
    /// The block the mask describes (far before any index until the first load).
    private var blockStart = -2 * FieldEndScanner.blockBytes
    /// Bit i: byte `blockStart + i` is the delimiter or a newline (and lies before `end`).
    private var mask: UInt64 = 0

    init(bytes: UnsafePointer<UInt8>, end: Int, delimiter: UInt8) {
        self.bytes = bytes
        self.end = end
        self.delimiter = delimiter
    }

    /// The position of the first delimiter or newline at or after `index`, or `end` if none.
    @inline(__always)
    mutating func next(from index: Int) -> Int {
        if index - blockStart >= Self.blockBytes || index < blockStart { load(index & ~(Self.blockBytes - 1)) }
        var remaining = mask & (~0 << UInt64(index - blockStart))
        while remaining == 0 {
            guard blockStart + Self.blockBytes < end else { return end }
            load(blockStart + Self.blockBytes)
            remaining = mask
        }
        return blockStart + remaining.trailingZeroBitCount
    }

    @inline(__always)
    private mutating func load(_ start: Int) {
        blockStart = start
        mask = Self.blockMask(bytes + start, delimiter)
        if start + Self.blockBytes > end { mask &= (1 << UInt64(max(0, end - start))) &- 1 }
    }

    /// Bit i set when `p[i]` is `delimiter` or a line feed, for i in 0..<64.
    @inline(__always)
    static func blockMask(_ p: UnsafePointer<UInt8>, _ delimiter: UInt8) -> UInt64 {
        #if arch(x86_64)
        let wanted = _mm256_set1_epi8(CChar(bitPattern: delimiter))
        let newline = _mm256_set1_epi8(0x0A)
        func half(_ offset: Int) -> UInt64 {
            let block = _mm256_loadu_si256(UnsafeRawPointer(p + offset).assumingMemoryBound(to: __m256i_u.self))
            let hits = _mm256_or_si256(_mm256_cmpeq_epi8(block, wanted), _mm256_cmpeq_epi8(block, newline))
            return UInt64(UInt32(bitPattern: _mm256_movemask_epi8(hits)))
        }
        return half(0) | half(32) << 32
        #else
        var bits: UInt64 = 0
        for index in 0..<64 where p[index] == delimiter || p[index] == 0x0A { bits |= 1 << UInt64(index) }
        return bits
        #endif
    }
}
