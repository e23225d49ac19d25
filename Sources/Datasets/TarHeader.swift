/// One 512-byte tar header block: ustar (POSIX and GNU magic) or old v7, its checksum verified.
struct TarHeader {
    /// Types that carry no data even when their size field is not zero (links, devices, FIFOs, directories).
    static let dataLessTypes: Set<UInt8> = Set("123456".utf8)

    let name: String
    let size: Int64
    let typeFlag: UInt8

    init(_ block: [UInt8], at offset: Int64, archive: String) throws {
        precondition(block.count == 512)
        let rawName = TarHeader.string(block[0..<100])
        func bad(_ detail: String) -> DatasetError {
            .badArchive(archive: archive, member: rawName.isEmpty ? nil : rawName, detail: "header at offset \(offset): \(detail)")
        }
        guard let stored = TarHeader.octal(block[148..<156]) else {
            throw bad("checksum field is not an octal number")
        }
        var unsigned: Int64 = 0
        var signed: Int64 = 0
        for (i, byte) in block.enumerated() {
            let value = (148..<156).contains(i) ? UInt8(ascii: " ") : byte
            unsigned += Int64(value)
            signed += Int64(Int8(bitPattern: value))
        }
        // Some old writers summed signed chars; both sums are accepted, as tar(1) does.
        guard stored == unsigned || stored == signed else {
            throw bad("checksum is \(stored) but the header's bytes sum to \(unsigned) (not a tar archive, or corrupt)")
        }
        typeFlag = block[156]
        let magic = Array(block[257..<263])
        let isUstar = magic == Array("ustar\0".utf8) || magic == Array("ustar ".utf8)
        let prefix = isUstar && magic == Array("ustar\0".utf8) ? TarHeader.string(block[345..<500]) : ""
        name = prefix.isEmpty ? rawName : prefix + "/" + rawName
        if block[124] & 0x80 != 0 {
            // GNU base-256: a big-endian two's-complement number in the remaining bits.
            guard block[124] == 0x80 else { throw bad("size field is negative or too large (base-256)") }
            var value: Int64 = 0
            for byte in block[125..<136] {
                guard value <= (Int64.max >> 8) else { throw bad("size field is too large (base-256)") }
                value = value << 8 | Int64(byte)
            }
            size = value
        } else {
            guard let value = TarHeader.octal(block[124..<136]) else {
                throw bad("size field \(TarHeader.printable(block[124..<136])) is not an octal number")
            }
            size = value
        }
    }

    /// A NUL-terminated field as text.
    static func string(_ field: ArraySlice<UInt8>) -> String {
        let end = field.firstIndex(of: 0) ?? field.endIndex
        return String(decoding: field[field.startIndex..<end], as: UTF8.self)
    }

    /// An octal field: optional leading spaces, digits, then NUL or space; empty means 0.
    static func octal(_ field: ArraySlice<UInt8>) -> Int64? {
        var value: Int64 = 0
        var index = field.startIndex
        while index < field.endIndex, field[index] == UInt8(ascii: " ") { index += 1 }
        while index < field.endIndex, field[index] != 0, field[index] != UInt8(ascii: " ") {
            let digit = field[index]
            guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7"), value <= (Int64.max >> 3) else { return nil }
            value = value << 3 | Int64(digit - UInt8(ascii: "0"))
            index += 1
        }
        while index < field.endIndex {
            guard field[index] == 0 || field[index] == UInt8(ascii: " ") else { return nil }
            index += 1
        }
        return value
    }

    static func printable(_ field: ArraySlice<UInt8>) -> String {
        "\"" + field.map { $0 >= 0x20 && $0 < 0x7f ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined() + "\""
    }
}

/// The records of a pax extended header ("LENGTH KEY=VALUE\n" each); only `path` and `size`
/// matter to a reader that keeps names and data.
struct PaxRecords {
    private(set) var path: String?
    private(set) var size: Int64?

    init(_ bytes: [UInt8], archive: String, member: String) throws {
        func bad(_ detail: String) -> DatasetError {
            .badArchive(archive: archive, member: member, detail: "pax header: \(detail)")
        }
        var index = 0
        while index < bytes.count {
            // Trailing NUL padding after the last record is tolerated.
            if bytes[index...].allSatisfy({ $0 == 0 }) { break }
            var length = 0
            var cursor = index
            while cursor < bytes.count, bytes[cursor] >= UInt8(ascii: "0"), bytes[cursor] <= UInt8(ascii: "9"), length < bytes.count {
                length = length * 10 + Int(bytes[cursor] - UInt8(ascii: "0"))
                cursor += 1
            }
            guard cursor > index, cursor < bytes.count, bytes[cursor] == UInt8(ascii: " "), length > cursor - index + 1,
                index + length <= bytes.count, bytes[index + length - 1] == UInt8(ascii: "\n")
            else {
                throw bad("malformed record at byte \(index)")
            }
            let record = bytes[(cursor + 1)..<(index + length - 1)]
            guard let equals = record.firstIndex(of: UInt8(ascii: "=")) else { throw bad("record at byte \(index) has no '='") }
            let key = String(decoding: record[record.startIndex..<equals], as: UTF8.self)
            let value = record[(equals + 1)...]
            switch key {
            case "path":
                path = String(decoding: value, as: UTF8.self)
            case "size":
                guard !value.isEmpty, value.count <= 18, value.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                    throw bad("size \(TarHeader.printable(value)) is not a decimal number")
                }
                size = value.reduce(0) { $0 * 10 + Int64($1 - UInt8(ascii: "0")) }
            default:
                break
            }
            index += length
        }
    }
}
