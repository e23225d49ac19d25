/// A span of the query text, in bytes, for error carets.
public struct SourceRange: Sendable, Equatable {
    public var offset: Int
    public var length: Int
    public init(offset: Int, length: Int) {
        self.offset = offset
        self.length = length
    }
    public static let none = SourceRange(offset: 0, length: 0)
}

/// A query that cannot be parsed or bound, with where in the text.
public struct SQLError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public let range: SourceRange?

    public init(_ message: String, at range: SourceRange? = nil) {
        self.message = message
        self.range = range
    }

    public var description: String { message }

    /// The message, the line of `source` it is about and a caret under the offending text:
    ///
    ///     Error: unknown column "id7" at line 1, column 8; did you mean "id6"?
    ///     SELECT id7 FROM x
    ///            ^^^
    public func render(source: String) -> String {
        guard let range else { return "Error: \(message)" }
        let bytes = Array(source.utf8)
        let offset = min(range.offset, bytes.count)
        var lineStart = offset
        while lineStart > 0 && bytes[lineStart - 1] != 0x0A { lineStart -= 1 }
        var lineEnd = offset
        while lineEnd < bytes.count && bytes[lineEnd] != 0x0A { lineEnd += 1 }
        let line = bytes[..<offset].filter { $0 == 0x0A }.count + 1
        let prefix = String(decoding: bytes[lineStart..<offset], as: UTF8.self)
        let column = prefix.unicodeScalars.count + 1
        let text = String(decoding: bytes[lineStart..<lineEnd], as: UTF8.self)
        let caretEnd = min(lineEnd, offset + max(1, range.length))
        let width = max(1, String(decoding: bytes[offset..<caretEnd], as: UTF8.self).unicodeScalars.count)
        let visible = String(String.UnicodeScalarView(text.unicodeScalars.map { $0 == "\t" ? " " : $0 }))
        return "Error at line \(line), column \(column): \(message)\n\(visible)\n"
            + String(repeating: " ", count: column - 1) + String(repeating: "^", count: width)
    }
}

enum TokenKind: Equatable, Sendable {
    case identifier(String)
    case quotedIdentifier(String)
    case keyword(String)  // upper-cased
    case string(String)
    case integer(Int64)
    case number(Double)
    case symbol(String)
    case end
}

struct Token: Sendable {
    let kind: TokenKind
    let range: SourceRange

    var text: String {
        switch kind {
        case .identifier(let name), .quotedIdentifier(let name): name
        case .keyword(let word): word
        case .string(let value): "'\(value)'"
        case .integer(let value): String(value)
        case .number(let value): String(value)
        case .symbol(let symbol): symbol
        case .end: "end of query"
        }
    }
}

/// Splits SQL text into tokens (keywords case-insensitive, identifiers as written).
enum Lexer {
    static let keywords: Set<String> = [
        "SELECT", "DISTINCT", "FROM", "WHERE", "GROUP", "BY", "HAVING", "ORDER", "ASC", "DESC", "NULLS", "FIRST", "LAST", "LIMIT", "OFFSET",
        "AS", "JOIN", "INNER", "LEFT", "RIGHT", "FULL", "OUTER", "CROSS", "SEMI", "ANTI", "ON", "USING", "UNION", "ALL", "WITH", "CASE",
        "WHEN",
        "THEN", "ELSE", "END", "CAST", "IN", "BETWEEN", "LIKE", "ILIKE", "IS", "NOT", "NULL", "AND", "OR", "TRUE", "FALSE", "EXPLAIN",
        "COPY",
        "TO", "CREATE", "TABLE", "OVER", "PARTITION", "DATE", "TIMESTAMP", "EXISTS",
    ]

    static func tokenize(_ text: String) throws(SQLError) -> [Token] {
        let bytes = Array(text.utf8)
        var tokens: [Token] = []
        var index = 0
        func isIdentifierByte(_ byte: UInt8) -> Bool {
            (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x5F
                || byte >= 0x80
        }
        while index < bytes.count {
            let byte = bytes[index]
            let start = index
            if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
                index += 1
                continue
            }
            if byte == 0x2D && index + 1 < bytes.count && bytes[index + 1] == 0x2D {
                while index < bytes.count && bytes[index] != 0x0A { index += 1 }
                continue
            }
            if byte == 0x2F && index + 1 < bytes.count && bytes[index + 1] == 0x2A {
                index += 2
                while index + 1 < bytes.count && !(bytes[index] == 0x2A && bytes[index + 1] == 0x2F) { index += 1 }
                guard index + 1 < bytes.count else { throw SQLError("unterminated comment", at: SourceRange(offset: start, length: 2)) }
                index += 2
                continue
            }
            if byte == 0x27 || byte == 0x22 {
                // 'string' or "identifier"; a doubled quote inside is one quote.
                var value: [UInt8] = []
                index += 1
                while true {
                    guard index < bytes.count else {
                        throw SQLError(
                            byte == 0x27 ? "unterminated string" : "unterminated quoted identifier",
                            at: SourceRange(offset: start, length: 1))
                    }
                    if bytes[index] == byte {
                        if index + 1 < bytes.count && bytes[index + 1] == byte {
                            value.append(byte)
                            index += 2
                            continue
                        }
                        index += 1
                        break
                    }
                    value.append(bytes[index])
                    index += 1
                }
                let text = String(decoding: value, as: UTF8.self)
                tokens.append(
                    Token(
                        kind: byte == 0x27 ? .string(text) : .quotedIdentifier(text),
                        range: SourceRange(offset: start, length: index - start)))
                continue
            }
            if (byte >= 0x30 && byte <= 0x39)
                || (byte == 0x2E && index + 1 < bytes.count && bytes[index + 1] >= 0x30 && bytes[index + 1] <= 0x39)
            {
                var isDecimal = false
                while index < bytes.count && bytes[index] >= 0x30 && bytes[index] <= 0x39 { index += 1 }
                if index < bytes.count && bytes[index] == 0x2E {
                    isDecimal = true
                    index += 1
                    while index < bytes.count && bytes[index] >= 0x30 && bytes[index] <= 0x39 { index += 1 }
                }
                if index < bytes.count && (bytes[index] == 0x65 || bytes[index] == 0x45) {
                    var look = index + 1
                    if look < bytes.count && (bytes[look] == 0x2B || bytes[look] == 0x2D) { look += 1 }
                    if look < bytes.count && bytes[look] >= 0x30 && bytes[look] <= 0x39 {
                        isDecimal = true
                        index = look
                        while index < bytes.count && bytes[index] >= 0x30 && bytes[index] <= 0x39 { index += 1 }
                    }
                }
                let text = String(decoding: bytes[start..<index], as: UTF8.self)
                let range = SourceRange(offset: start, length: index - start)
                if !isDecimal, let integer = Int64(text) {
                    tokens.append(Token(kind: .integer(integer), range: range))
                } else if let number = Double(text) {
                    tokens.append(Token(kind: .number(number), range: range))
                } else {
                    throw SQLError("malformed number \(text)", at: range)
                }
                continue
            }
            if isIdentifierByte(byte) {
                while index < bytes.count && isIdentifierByte(bytes[index]) { index += 1 }
                let word = String(decoding: bytes[start..<index], as: UTF8.self)
                let upper = word.uppercased()
                let range = SourceRange(offset: start, length: index - start)
                tokens.append(Token(kind: keywords.contains(upper) ? .keyword(upper) : .identifier(word), range: range))
                continue
            }
            let two = index + 1 < bytes.count ? String(decoding: bytes[index...(index + 1)], as: UTF8.self) : ""
            if ["<=", ">=", "<>", "!=", "||", "::", "=="].contains(two) {
                tokens.append(Token(kind: .symbol(two == "==" ? "=" : two), range: SourceRange(offset: start, length: 2)))
                index += 2
                continue
            }
            let single = Character(Unicode.Scalar(byte))
            if "=<>+-*/%(),.;".contains(single) {
                tokens.append(Token(kind: .symbol(String(single)), range: SourceRange(offset: start, length: 1)))
                index += 1
                continue
            }
            var length = 1
            while start + length < bytes.count && bytes[start + length] & 0xC0 == 0x80 { length += 1 }
            throw SQLError(
                "unexpected character \"\(String(decoding: bytes[start..<(start + length)], as: UTF8.self))\"",
                at: SourceRange(offset: start, length: length))
        }
        tokens.append(Token(kind: .end, range: SourceRange(offset: bytes.count, length: 0)))
        return tokens
    }
}
