/// A little-endian cursor over untrusted bytes. Every read is bounds-checked and throws a
/// `GGUFError.truncated` naming the field being read.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    let source: String
    private(set) var position: Int = 0

    init(_ bytes: UnsafeRawBufferPointer, source: String) {
        self.bytes = bytes
        self.source = source
    }

    var remaining: Int { bytes.count - position }

    func error(_ reason: GGUFError.Reason, _ field: String, value: String, at offset: Int? = nil, expected: String) -> GGUFError {
        GGUFError(reason, source: source, field: field, value: value, offset: offset ?? position, expected: expected)
    }

    private mutating func take(_ count: Int, _ field: String) throws -> Int {
        guard count <= remaining else {
            throw error(
                .truncated, field, value: "end of file (\(remaining) of \(count) bytes left)",
                expected: "\(count) more bytes; the file is \(bytes.count) bytes long")
        }
        let start = position
        position += count
        return start
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ field: String) throws -> T {
        let start = try take(MemoryLayout<T>.size, field)
        return T(littleEndian: bytes.loadUnaligned(fromByteOffset: start, as: T.self))
    }

    mutating func readFloat(_ field: String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, field))
    }

    mutating func readDouble(_ field: String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, field))
    }

    /// A count or length: u32 in GGUF v1, u64 from v2 on.
    mutating func readCount(_ field: String, wide: Bool) throws -> UInt64 {
        wide ? try read(UInt64.self, field) : UInt64(try read(UInt32.self, field))
    }

    /// A view of the next `count` bytes; `count` must already be known to fit.
    mutating func slice(_ count: Int, _ field: String) throws -> UnsafeRawBufferPointer {
        let start = try take(count, field)
        return UnsafeRawBufferPointer(rebasing: bytes[start..<start + count])
    }
}
