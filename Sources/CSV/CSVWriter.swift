import Columns
import Glibc

/// Writes a table as RFC 4180 CSV: a header, fields quoted only when they hold the delimiter, a
/// quote or a line break, NULL as an empty field, doubles in their shortest round-trip form.
/// The file appears whole or not at all (written beside it, then renamed).
public enum CSVWriter {
    public static func write(_ table: Table, to path: String, delimiter: UInt8 = 0x2C, header: Bool = true) throws {
        let temporary = path + ".partial-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw CSVError("\(path): cannot create (\(String(cString: strerror(errno))))") }
        var failed = true
        defer {
            close(descriptor)
            if failed { unlink(temporary) }
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 20)
        func flush() throws {
            var offset = 0
            while offset < buffer.count {
                let written = buffer.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
                guard written > 0 else { throw CSVError("\(path): write failed (\(String(cString: strerror(errno))))") }
                offset += written
            }
            buffer.removeAll(keepingCapacity: true)
        }
        func field(_ text: String, quoteEmpty: Bool) {
            let needsQuotes =
                (quoteEmpty && text.isEmpty) || text.utf8.contains { $0 == delimiter || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }
            if needsQuotes {
                buffer.append(0x22)
                for byte in text.utf8 {
                    if byte == 0x22 { buffer.append(0x22) }
                    buffer.append(byte)
                }
                buffer.append(0x22)
            } else {
                buffer.append(contentsOf: text.utf8)
            }
        }
        if header {
            for (index, name) in table.schema.names.enumerated() {
                if index > 0 { buffer.append(delimiter) }
                field(name, quoteEmpty: true)
            }
            buffer.append(0x0A)
        }
        for batch in table.batches {
            for row in 0..<batch.rowCount {
                for (index, column) in batch.columns.enumerated() {
                    if index > 0 { buffer.append(delimiter) }
                    let value = column.value(at: row)
                    // An empty string is quoted so that it reads back as "" and not as NULL.
                    if !value.isNull { field(value.description, quoteEmpty: true) }
                }
                buffer.append(0x0A)
                if buffer.count > 1 << 20 { try flush() }
            }
        }
        try flush()
        guard fsync(descriptor) == 0 || errno == EINVAL else { throw CSVError("\(path): fsync failed") }
        guard rename(temporary, path) == 0 else {
            throw CSVError("\(path): cannot rename into place (\(String(cString: strerror(errno))))")
        }
        failed = false
    }
}
