/// db-benchmark's `pretty_sci`: 10000000 → "1e7", 2000 → "2e3"; a count that is not one digit times a
/// power of ten is written out in full (R would silently round it, which would hide the real size).
public func benchmarkSize(_ value: Int) -> String {
    guard value > 0 else { return String(value) }
    var mantissa = value
    var exponent = 0
    while mantissa % 10 == 0 {
        mantissa /= 10
        exponent += 1
    }
    return mantissa < 10 ? "\(mantissa)e\(exponent)" : String(value)
}

/// One file a generator wrote.
public struct WrittenFile: Sendable {
    public let name: String
    public let rows: Int
    public let bytes: Int
    /// FNV-1a 64 of the file's bytes.
    public let checksum: UInt64
}
