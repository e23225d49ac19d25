/// The strings of one column: a view per row (`StringView`) and the data buffers long strings
/// point into. Buffers are shared, never copied, when views are gathered into a new array, so a
/// filtered or sorted column costs 16 bytes a row. Bytes are UTF-8 as read (readers validate).
public struct StringArray: Sendable {
    public private(set) var views: [StringView]
    public private(set) var buffers: [StringBuffer]

    public init(views: [StringView], buffers: [StringBuffer]) {
        self.views = views
        self.buffers = buffers
    }

    public init() {
        views = []
        buffers = []
    }

    public init<S: Sequence>(_ strings: S) where S.Element == String {
        var builder = StringArrayBuilder()
        for string in strings { builder.append(string) }
        self = builder.finish()
    }

    public var count: Int { views.count }

    /// Calls `body` with the bytes of row `row` (no copy).
    @inline(__always)
    public func withBytes<R>(_ row: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try StringArray.withBytes(of: views[row], buffers: buffers, body)
    }

    @inline(__always)
    public static func withBytes<R>(
        of view: StringView, buffers: [StringBuffer], _ body: (UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R {
        if view.isInline {
            // Bytes 0..<4 sit in the head's high half, 4..<12 in the tail: shifted together they
            // are the string's bytes in order (little-endian).
            var inline = ((view.head >> 32) | (view.tail << 32), view.tail >> 32)
            return try withUnsafeBytes(of: &inline) { packed in
                try body(UnsafeRawBufferPointer(rebasing: packed[0..<view.length]))
            }
        }
        return try buffers[view.bufferIndex].withBytes(offset: view.bufferOffset, count: view.length, body)
    }

    public func string(at row: Int) -> String {
        withBytes(row) { String(decoding: $0, as: UTF8.self) }
    }

    /// Rows `indices` of this array, sharing its buffers.
    public func gather(_ indices: UnsafeBufferPointer<Int32>) -> StringArray {
        var result = [StringView]()
        result.reserveCapacity(indices.count)
        views.withUnsafeBufferPointer { source in
            for index in indices { result.append(source[Int(index)]) }
        }
        return StringArray(views: result, buffers: buffers)
    }

    /// Appends `other`'s rows; its buffers are appended (not copied) and its views renumbered.
    public mutating func append(contentsOf other: StringArray) {
        let shift = UInt64(buffers.count) << 32
        buffers.append(contentsOf: other.buffers)
        views.reserveCapacity(views.count + other.count)
        for view in other.views {
            views.append(view.isInline ? view : StringView(head: view.head, tail: view.tail &+ shift))
        }
    }

    /// Equality of two views whose buffers may differ (the prefix decides most cases).
    @inline(__always)
    public static func equal(_ a: StringView, _ aBuffers: [StringBuffer], _ b: StringView, _ bBuffers: [StringBuffer]) -> Bool {
        if a.head != b.head { return false }
        if a.isInline { return a.tail == b.tail }
        return withBytes(of: a, buffers: aBuffers) { left in
            withBytes(of: b, buffers: bBuffers) { right in
                memoryEqual(left.baseAddress!, right.baseAddress!, left.count)
            }
        }
    }

    /// Byte-wise (UTF-8 code point order) comparison, as DuckDB and Polars sort strings.
    @inline(__always)
    public static func compare(_ a: StringView, _ aBuffers: [StringBuffer], _ b: StringView, _ bBuffers: [StringBuffer]) -> Int {
        let aPrefix = (a.head >> 32).byteSwapped >> 32, bPrefix = (b.head >> 32).byteSwapped >> 32
        if aPrefix != bPrefix { return aPrefix < bPrefix ? -1 : 1 }
        return withBytes(of: a, buffers: aBuffers) { left in
            withBytes(of: b, buffers: bBuffers) { right in
                let common = min(left.count, right.count)
                for index in 4..<max(4, common) where left[index] != right[index] {
                    return left[index] < right[index] ? -1 : 1
                }
                return left.count == right.count ? 0 : (left.count < right.count ? -1 : 1)
            }
        }
    }
}

@inline(__always)
func memoryEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
    var index = 0
    while index + 8 <= count {
        if a.loadUnaligned(fromByteOffset: index, as: UInt64.self) != b.loadUnaligned(fromByteOffset: index, as: UInt64.self) {
            return false
        }
        index += 8
    }
    while index < count {
        if a.load(fromByteOffset: index, as: UInt8.self) != b.load(fromByteOffset: index, as: UInt8.self) { return false }
        index += 1
    }
    return true
}

/// An immutable block of string bytes that views point into; a class so arrays of views share it.
public final class StringBuffer: @unchecked Sendable {
    // @unchecked: written only by its builder before it is published, read-only afterwards.
    private let storage: UnsafeMutableRawBufferPointer
    public var byteCount: Int { storage.count }

    public init(copying bytes: UnsafeRawBufferPointer) {
        storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, bytes.count), alignment: 16)
        if let base = bytes.baseAddress, bytes.count > 0 { storage.baseAddress!.copyMemory(from: base, byteCount: bytes.count) }
    }

    /// Takes ownership of memory from `allocate(byteCount:alignment:)`.
    public init(adopting storage: UnsafeMutableRawBufferPointer) { self.storage = storage }

    deinit { storage.deallocate() }

    @inline(__always)
    public func withBytes<R>(offset: Int, count: Int, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.baseAddress! + offset, count: count))
    }

    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(storage) }
}

/// Builds a `StringArray` row by row; long strings are packed into buffers of up to 8 MiB.
public struct StringArrayBuilder: @unchecked Sendable {
    // @unchecked: the current buffer is owned by this builder alone until `finish` publishes it.
    private var views: [StringView] = []
    private var buffers: [StringBuffer] = []
    private var current: UnsafeMutableRawBufferPointer?
    private var used = 0
    private static let bufferBytes = 8 << 20

    public init(capacity: Int = 0) { views.reserveCapacity(capacity) }

    public var count: Int { views.count }

    public mutating func append(_ string: String) {
        var string = string
        string.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count <= StringView.inlineLimit {
            views.append(StringView(bytes: bytes, buffer: 0, offset: 0))
            return
        }
        precondition(bytes.count <= Int(UInt32.max), "a string longer than 4 GiB")
        if current == nil || used + bytes.count > current!.count {
            sealCurrent()
            current = UnsafeMutableRawBufferPointer.allocate(byteCount: max(StringArrayBuilder.bufferBytes, bytes.count), alignment: 16)
            used = 0
        }
        (current!.baseAddress! + used).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        views.append(StringView(bytes: bytes, buffer: buffers.count, offset: used))
        used += bytes.count
    }

    /// Whether string `index` (already appended) has exactly these bytes.
    public func bytesEqual(_ index: Int, _ bytes: UnsafeRawBufferPointer) -> Bool {
        let view = views[index]
        guard view.length == bytes.count else { return false }
        if view.isInline {
            return StringArray.withBytes(of: view, buffers: []) { stored in stored.elementsEqual(bytes) }
        }
        let base: UnsafeRawPointer
        if view.bufferIndex == buffers.count {
            base = UnsafeRawPointer(current!.baseAddress!)
        } else {
            base = buffers[view.bufferIndex].bytes.baseAddress!
        }
        return bytes.count == 0 || memoryEqual(base + view.bufferOffset, bytes.baseAddress!, bytes.count)
    }

    private mutating func sealCurrent() {
        guard let storage = current else { return }
        let trimmed = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, used), alignment: 16)
        if used > 0 { trimmed.baseAddress!.copyMemory(from: storage.baseAddress!, byteCount: used) }
        storage.deallocate()
        buffers.append(StringBuffer(adopting: trimmed))
        current = nil
    }

    public mutating func finish() -> StringArray {
        sealCurrent()
        let result = StringArray(views: views, buffers: buffers)
        views = []
        buffers = []
        return result
    }
}
