/// Whether bytes are text: valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing above
/// U+10FFFF) without NUL bytes.
enum TextValidation {
    struct Problem: Equatable {
        /// Offset of the first offending byte (the lead byte of a bad sequence).
        let offset: Int
        let reason: String
    }

    static func firstProblem(in bytes: UnsafeRawBufferPointer) -> Problem? {
        let count = bytes.count
        var i = 0
        while i < count {
            // ASCII runs dominate text: check eight bytes at a time.
            while i + 8 <= count {
                let word = bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                let hasHighBit = word & 0x8080_8080_8080_8080 != 0
                let hasZero = (word &- 0x0101_0101_0101_0101) & ~word & 0x8080_8080_8080_8080 != 0
                if hasHighBit || hasZero { break }
                i += 8
            }
            guard i < count else { break }
            let lead = bytes[i]
            if lead == 0 { return Problem(offset: i, reason: "a NUL byte") }
            if lead < 0x80 {
                i += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default:
                return Problem(offset: i, reason: "byte 0x\(String(lead, radix: 16)), which cannot start a UTF-8 character")
            }
            guard i + length <= count else {
                return Problem(offset: i, reason: "a UTF-8 character cut off by the end of the file")
            }
            for k in 1..<length {
                let byte = bytes[i + k]
                let (lower, upper) = k == 1 ? (low, high) : (UInt8(0x80), UInt8(0xBF))
                guard byte >= lower, byte <= upper else {
                    return Problem(offset: i, reason: "an invalid UTF-8 sequence")
                }
            }
            i += length
        }
        return nil
    }
}
