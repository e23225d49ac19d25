import Glibc

/// Why a benchmark file could not be written, naming the file.
public struct DataBenchmarkError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// CSV text straight into a file descriptor through a 1 MiB buffer: millions of rows, no per-row
/// allocation.
final class CSVTextWriter {
    private let descriptor: Int32
    private let path: String
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity = 1 << 20
    private var used = 0
    private(set) var bytesWritten = 0
    /// FNV-1a 64 of every byte written, so tests and fixtures can pin the generator's output.
    private(set) var checksum: UInt64 = 0xCBF2_9CE4_8422_2325

    init(path: String) throws {
        self.path = path
        descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard descriptor >= 0 else {
            throw DataBenchmarkError("cannot create \(path): \(String(cString: strerror(errno)))")
        }
        buffer = .allocate(capacity: capacity)
    }

    deinit {
        buffer.deallocate()
        if descriptor >= 0 { close(descriptor) }
    }

    @inline(__always) func byte(_ value: UInt8) throws {
        if used == capacity { try flush() }
        buffer[used] = value
        used += 1
    }

    func text(_ value: StaticString) throws {
        let count = value.utf8CodeUnitCount
        let start = value.utf8Start
        for i in 0..<count { try byte(start[i]) }
    }

    /// Non-negative decimal, zero-padded to `width` digits.
    @inline(__always) func integer(_ value: Int, width: Int = 1) throws {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var count = 0
        var rest = UInt64(value)
        withUnsafeMutableBytes(of: &digits) { raw in
            repeat {
                raw[count] = UInt8(truncatingIfNeeded: rest % 10) + 48
                rest /= 10
                count += 1
            } while rest > 0
            while count < width {
                raw[count] = 48
                count += 1
            }
        }
        try withUnsafeBytes(of: &digits) { raw in
            var i = count - 1
            while i >= 0 {
                try byte(raw[i])
                i -= 1
            }
        }
    }

    /// millionths / 1e6 as data.table's fwrite prints a value rounded to 6 decimals: shortest form,
    /// trailing zeros and a bare point dropped ("44.68354", "45", "0.000001").
    @inline(__always) func millionths(_ value: Int32) throws {
        let whole = Int(value) / 1_000_000
        var fraction = Int(value) % 1_000_000
        try integer(whole)
        guard fraction != 0 else { return }
        var width = 6
        while fraction % 10 == 0 {
            fraction /= 10
            width -= 1
        }
        try byte(UInt8(ascii: "."))
        try integer(fraction, width: width)
    }

    func flush() throws {
        var offset = 0
        while offset < used {
            let written = write(descriptor, buffer + offset, used - offset)
            guard written > 0 else {
                throw DataBenchmarkError("cannot write \(path): \(String(cString: strerror(errno)))")
            }
            offset += written
        }
        var hash = checksum
        for i in 0..<used { hash = (hash ^ UInt64(buffer[i])) &* 0x100_0000_01B3 }
        checksum = hash
        bytesWritten += used
        used = 0
    }
}
