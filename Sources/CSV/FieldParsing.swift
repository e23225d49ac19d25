import Columns
import Glibc

/// Typed values from CSV field bytes, strict: a field is a number only if all of it is.
enum FieldParsing {
    static let powersOfTen: [Double] = (0...22).map { exponent in
        var value = 1.0
        for _ in 0..<exponent { value *= 10 }
        return value
    }

    @inline(__always)
    static func integer(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
        var index = 0
        var negative = false
        if n > 0 && (p[0] == 0x2D || p[0] == 0x2B) {
            negative = p[0] == 0x2D
            index = 1
        }
        // At most 19 digits: 19 nines still fit a UInt64, so the loop cannot wrap.
        guard n - index >= 1, n - index <= 19 else { return nil }
        var value: UInt64 = 0
        while index < n {
            let digit = p[index] &- 0x30
            guard digit < 10 else { return nil }
            value = value &* 10 &+ UInt64(digit)
            index += 1
        }
        if negative {
            guard value <= UInt64(Int64.max) + 1 else { return nil }
            return value == UInt64(Int64.max) + 1 ? Int64.min : -Int64(value)
        }
        guard value <= UInt64(Int64.max) else { return nil }
        return Int64(value)
    }

    /// 1–8 ASCII digits as a number without a loop (the "eight digits in one word" method of
    /// simdjson and Lemire): the field's word shifted so its digits fill the high bytes, every
    /// digit byte checked to be 0x30–0x39, then pairs, quads and octets combined by three
    /// multiply-adds. The caller guarantees 8 readable bytes at `p` (the buffer is padded).
    @inline(__always)
    static func shortUnsigned(padded p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
        guard n >= 1 && n <= 8 else { return nil }
        let shift = UInt64(8 &* (8 &- n))
        let word = UnsafeRawPointer(p).loadUnaligned(as: UInt64.self) << shift
        let digits: UInt64 = ~0 << shift
        let zeros: UInt64 = 0x3030_3030_3030_3030 & digits
        let highNibbles: UInt64 = 0xF0F0_F0F0_F0F0_F0F0 & digits
        guard word & highNibbles == zeros, (word &+ 0x0606_0606_0606_0606) & highNibbles == zeros else { return nil }
        var value = word & 0x0F0F_0F0F_0F0F_0F0F
        value = (value &* 10 &+ (value >> 8)) & 0x00FF_00FF_00FF_00FF
        value = (value &* 100 &+ (value >> 16)) & 0x0000_FFFF_0000_FFFF
        value = (value &* 10000 &+ (value >> 32)) & 0xFFFF_FFFF
        return Int64(value)
    }

    /// Correctly rounded: Clinger's fast path when the digits and exponent are small enough to
    /// be exact in one multiplication or division, else the C library's strtod.
    @inline(__always)
    static func double(_ p: UnsafePointer<UInt8>, _ n: Int) -> Double? {
        guard n > 0 else { return nil }
        var index = 0
        var negative = false
        if p[0] == 0x2D || p[0] == 0x2B {
            negative = p[0] == 0x2D
            index = 1
        }
        var mantissa: UInt64 = 0
        var digits = 0, significant = 0
        var exponent = 0
        var sawDigit = false
        while index < n, p[index] &- 0x30 < 10 {
            sawDigit = true
            if significant > 0 || p[index] != 0x30 { significant += 1 }
            if significant <= 19 { mantissa = mantissa &* 10 &+ UInt64(p[index] &- 0x30) } else { exponent += 1 }
            digits += 1
            index += 1
        }
        if index < n && p[index] == 0x2E {
            index += 1
            while index < n, p[index] &- 0x30 < 10 {
                sawDigit = true
                if significant > 0 || p[index] != 0x30 { significant += 1 }
                if significant <= 19 {
                    mantissa = mantissa &* 10 &+ UInt64(p[index] &- 0x30)
                    exponent -= 1
                }
                index += 1
            }
        }
        if !sawDigit { return special(p, n) }
        if index < n && (p[index] == 0x65 || p[index] == 0x45) {
            index += 1
            var exponentNegative = false
            if index < n && (p[index] == 0x2D || p[index] == 0x2B) {
                exponentNegative = p[index] == 0x2D
                index += 1
            }
            var value = 0
            var any = false
            while index < n, p[index] &- 0x30 < 10 {
                any = true
                if value < 100_000 { value = value * 10 + Int(p[index] &- 0x30) }
                index += 1
            }
            guard any else { return nil }
            exponent += exponentNegative ? -value : value
        }
        guard index == n else { return nil }
        if significant <= 15 && exponent >= -22 && exponent <= 22 {
            var value = Double(mantissa)
            value = exponent < 0 ? value / powersOfTen[-exponent] : value * powersOfTen[exponent]
            return negative ? -value : value
        }
        return slow(p, n)
    }

    static func slow(_ p: UnsafePointer<UInt8>, _ n: Int) -> Double? {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: n + 1) { buffer in
            for index in 0..<n { buffer[index] = CChar(bitPattern: p[index]) }
            buffer[n] = 0
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(buffer.baseAddress!, &end)
            return end == buffer.baseAddress! + n ? value : nil
        }
    }

    static func special(_ p: UnsafePointer<UInt8>, _ n: Int) -> Double? {
        var text = ""
        for index in 0..<min(n, 10) { text.unicodeScalars.append(Unicode.Scalar(p[index] | 0x20)) }
        switch text {
        case "nan", "+nan", "-nan": return .nan
        case "inf", "+inf", "infinity", "+infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        default: return nil
        }
    }

    @inline(__always)
    static func boolean(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool? {
        if n == 4 && (p[0] | 0x20) == 0x74 && (p[1] | 0x20) == 0x72 && (p[2] | 0x20) == 0x75 && (p[3] | 0x20) == 0x65 { return true }
        if n == 5 && (p[0] | 0x20) == 0x66 && (p[1] | 0x20) == 0x61 && (p[2] | 0x20) == 0x6C && (p[3] | 0x20) == 0x73
            && (p[4] | 0x20) == 0x65
        {
            return false
        }
        return nil
    }

    @inline(__always)
    static func twoDigits(_ p: UnsafePointer<UInt8>) -> Int? {
        let a = p[0] &- 0x30, b = p[1] &- 0x30
        return a < 10 && b < 10 ? Int(a) * 10 + Int(b) : nil
    }

    /// `YYYY-MM-DD` as days since 1970-01-01.
    @inline(__always)
    static func date(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int32? {
        guard n == 10, p[4] == 0x2D, p[7] == 0x2D, let high = twoDigits(p), let low = twoDigits(p + 2), let month = twoDigits(p + 5),
            let day = twoDigits(p + 8)
        else { return nil }
        let year = high * 100 + low
        guard CivilDate.isValid(year: year, month: month, day: day) else { return nil }
        return Int32(CivilDate(year: year, month: month, day: day).daysSinceEpoch)
    }

    /// `YYYY-MM-DD[ T]HH:MM[:SS[.ffffff]]` as microseconds since the epoch (UTC).
    static func timestamp(_ p: UnsafePointer<UInt8>, _ n: Int) -> Int64? {
        guard n >= 16, let days = date(p, 10), p[10] == 0x20 || p[10] == 0x54, let hour = twoDigits(p + 11), p[13] == 0x3A,
            let minute = twoDigits(p + 14), hour < 24, minute < 60
        else { return nil }
        var index = 16, second = 0, micros = 0
        if index < n {
            guard p[index] == 0x3A, index + 3 <= n, let parsed = twoDigits(p + index + 1), parsed < 60 else { return nil }
            second = parsed
            index += 3
            if index < n {
                guard p[index] == 0x2E else { return nil }
                index += 1
                var count = 0
                while index < n, p[index] &- 0x30 < 10 {
                    if count < 6 { micros = micros * 10 + Int(p[index] &- 0x30) }
                    count += 1
                    index += 1
                }
                guard count > 0, index == n else { return nil }
                for _ in count..<max(count, 6) { micros *= 10 }
            }
        }
        return Int64(days) * 86_400_000_000 + Int64(hour * 3600 + minute * 60 + second) * 1_000_000 + Int64(micros)
    }

    /// Whether bytes are valid UTF-8 (ASCII checked 8 bytes at a time).
    static func isValidUTF8(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        var index = 0
        while index + 8 <= n {
            if UnsafeRawPointer(p + index).loadUnaligned(as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { break }
            index += 8
        }
        while index < n && p[index] < 0x80 { index += 1 }
        if index == n { return true }
        return String(validating: UnsafeBufferPointer(start: p + index, count: n - index), as: UTF8.self) != nil
    }
}
