/// GPT-2's reversible byte ↔ character mapping. Byte-level BPE vocabularies store every token as
/// characters of this alphabet so that whitespace and control bytes get printable stand-ins:
/// printable Latin-1 bytes map to themselves, the other 68 to U+0100, U+0101, … in byte order.
enum ByteUnicodeMap {
    /// Scalar value standing for each byte.
    static let scalarForByte: [UInt32] = {
        var table = [UInt32](repeating: 0, count: 256)
        var next: UInt32 = 256
        for byte in 0..<256 {
            if (0x21...0x7E).contains(byte) || (0xA1...0xAC).contains(byte) || (0xAE...0xFF).contains(byte) {
                table[byte] = UInt32(byte)
            } else {
                table[byte] = next
                next += 1
            }
        }
        return table
    }()

    /// Inverse of `scalarForByte`, indexed by scalar value (all stand-ins are below 0x144); -1 where none.
    static let byteForScalar: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (byte, scalar) in scalarForByte.enumerated() { table[Int(scalar)] = Int16(byte) }
        return table
    }()

    /// The raw bytes a stored token text stands for, or nil if it has a character outside the alphabet.
    static func bytes(ofEncoded text: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let v = Int(scalar.value)
            guard v < byteForScalar.count, byteForScalar[v] >= 0 else { return nil }
            out.append(UInt8(byteForScalar[v]))
        }
        return out
    }

    /// The stored-vocabulary spelling of raw bytes.
    static func encode<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var text = ""
        for byte in bytes { text.unicodeScalars.append(Unicode.Scalar(scalarForByte[Int(byte)])!) }
        return text
    }
}
