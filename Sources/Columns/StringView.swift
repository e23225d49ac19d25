/// One string of a column in 16 bytes, as Umbra, DuckDB, Velox and Polars store them: the length
/// and the first four bytes always inline, so most comparisons and hashes of short keys never
/// leave the view; strings of at most 12 bytes live entirely inside it, longer ones point into a
/// data buffer of their `StringArray`. Filtering or reordering a string column copies views, never
/// characters.
@frozen
public struct StringView: Sendable, Hashable {
    /// Low 32 bits: byte length. High 32 bits: the first four bytes (zero-padded).
    public let head: UInt64
    /// Bytes 4..<12 when the string is inline (length ≤ 12), else buffer index (high 32 bits) and
    /// byte offset in that buffer (low 32 bits).
    public let tail: UInt64

    public static let inlineLimit = 12

    @inline(__always)
    public init(head: UInt64, tail: UInt64) {
        self.head = head
        self.tail = tail
    }

    @inline(__always)
    public var length: Int { Int(truncatingIfNeeded: UInt32(truncatingIfNeeded: head)) }
    @inline(__always)
    public var isInline: Bool { length <= StringView.inlineLimit }
    @inline(__always)
    public var bufferIndex: Int { Int(tail >> 32) }
    @inline(__always)
    public var bufferOffset: Int { Int(UInt32(truncatingIfNeeded: tail)) }

    /// A view of `bytes`; long strings are recorded as living at `offset` in buffer `buffer`.
    @inline(__always)
    public init(bytes: UnsafeRawBufferPointer, buffer: Int, offset: Int) {
        let length = bytes.count
        var prefix: UInt64 = 0
        for index in 0..<min(4, length) { prefix |= UInt64(bytes[index]) << UInt64(8 * index) }
        head = UInt64(UInt32(truncatingIfNeeded: length)) | prefix << 32
        if length <= StringView.inlineLimit {
            var rest: UInt64 = 0
            if length > 4 { for index in 4..<length { rest |= UInt64(bytes[index]) << UInt64(8 * (index - 4)) } }
            tail = rest
        } else {
            tail = UInt64(UInt32(truncatingIfNeeded: buffer)) << 32 | UInt64(UInt32(truncatingIfNeeded: offset))
        }
    }

    /// The inline view of `count` ≤ 12 bytes at `p`, from two loads instead of a byte loop: the
    /// caller guarantees 12 readable bytes at `p` whatever `count` is (a parser whose buffer is
    /// padded past its end); the bytes past `count` are masked off.
    @inline(__always)
    public init(paddedInline p: UnsafeRawPointer, count: Int) {
        let prefixBytes = UInt64(min(count, 4)), restBytes = UInt64(max(count - 4, 0))
        let prefix = UInt64(p.loadUnaligned(as: UInt32.self)) & ((1 &<< (8 &* prefixBytes)) &- 1)
        let rest = p.loadUnaligned(fromByteOffset: 4, as: UInt64.self)
        head = UInt64(UInt32(truncatingIfNeeded: count)) | prefix << 32
        tail = restBytes == 8 ? rest : rest & ((1 &<< (8 &* restBytes)) &- 1)
    }

    /// Whether an inline view's bytes are all ASCII (and so valid UTF-8).
    @inline(__always)
    public var inlineIsASCII: Bool { (head >> 32 | tail) & 0x8080_8080_8080_8080 == 0 }

    public static let empty = StringView(head: 0, tail: 0)
}
