/// Splits template source into text and tag tokens, applying Jinja2's whitespace control
/// (`-` / `+` markers, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=False).

enum TokenKind: Equatable, Sendable {
    case text(String)
    case blockBegin, blockEnd, varBegin, varEnd
    case name(String)
    case string(String)
    case int(Int)
    case float(Double)
    case op(String)
}

struct Token: Sendable {
    var kind: TokenKind
    var line: Int
    /// 1-based, in Unicode scalars of the newline-normalized source.
    var column: Int = 0
}

func isPyWhitespace(_ s: Unicode.Scalar) -> Bool {
    if (0x1C...0x1F).contains(s.value) { return true }
    return s.properties.isWhitespace
}

struct Lexer {
    var src: [Unicode.Scalar]
    var pos = 0
    var line = 1
    /// Where the current line starts in `src`, for columns.
    var lineStart = 0
    var tokens: [Token] = []

    init(source: String) {
        // Normalize newlines like Jinja (splitlines + "\n".join) and drop one trailing newline.
        var out: [Unicode.Scalar] = []
        let scalars = Array(source.unicodeScalars)
        var i = 0
        while i < scalars.count {
            let c = scalars[i]
            if c == "\r" {
                out.append("\n")
                if i + 1 < scalars.count && scalars[i + 1] == "\n" { i += 1 }
            } else {
                out.append(c)
            }
            i += 1
        }
        if out.last == "\n" { out.removeLast() }
        src = out
    }

    func peek(_ off: Int = 0) -> Unicode.Scalar? {
        pos + off < src.count ? src[pos + off] : nil
    }

    func syntax(_ msg: String) -> ChatTemplateError {
        ChatTemplateError(kind: .syntax, message: msg, line: line)
    }

    var column: Int { pos - lineStart + 1 }

    /// Counts the newlines in `src[from..<to]` into `line` and `lineStart`.
    mutating func passLines(from: Int, to: Int) {
        var k = from
        while k < to {
            if src[k] == "\n" { line += 1; lineStart = k + 1 }
            k += 1
        }
    }

    mutating func tokenize() throws -> [Token] {
        // What the previous tag end asks of the following text.
        enum LeftStrip { case none, all, newline }
        var leftStrip = LeftStrip.none
        var lineStarting = true
        while pos < src.count || leftStrip != .none {
            // Find next tag opener.
            var j = pos
            var opener: Unicode.Scalar? = nil
            while j + 1 < src.count {
                if src[j] == "{" && (src[j + 1] == "{" || src[j + 1] == "%" || src[j + 1] == "#") {
                    opener = src[j + 1]
                    break
                }
                j += 1
            }
            let textEnd = opener == nil ? src.count : j
            var text = Array(src[pos..<textEnd])
            let textLine = line
            // Left side: effect of the previous tag's end marker.
            switch leftStrip {
            case .all:
                var k = 0
                while k < text.count && isPyWhitespace(text[k]) { k += 1 }
                text.removeFirst(k)
            case .newline:
                if text.first == "\n" { text.removeFirst() }
            case .none: break
            }
            // Right side: effect of the next tag's begin marker.
            if let opener {
                let sign = j + 2 < src.count ? src[j + 2] : nil
                if sign == "-" {
                    while let l = text.last, isPyWhitespace(l) { text.removeLast() }
                } else if sign != "+" && opener != "{" {
                    // lstrip_blocks
                    var lpos = 0
                    if let nl = text.lastIndex(of: "\n") { lpos = nl + 1 }
                    if lpos > 0 || lineStarting {
                        if lpos < text.count && text[lpos...].allSatisfy({ isPyWhitespace($0) }) {
                            text.removeLast(text.count - lpos)
                        }
                    }
                }
            }
            // Count lines over the raw text.
            passLines(from: pos, to: textEnd)
            if !text.isEmpty {
                var s = String.UnicodeScalarView()
                s.append(contentsOf: text)
                tokens.append(Token(kind: .text(String(s)), line: textLine))
            }
            pos = textEnd
            leftStrip = .none
            guard let opener else { break }
            let tagColumn = column
            pos += 2
            if peek() == "-" || peek() == "+" { pos += 1 }
            var consumed: [Unicode.Scalar] = []
            switch opener {
            case "#":
                // Comment: find "#}".
                let startLine = line
                var k = pos
                while k + 1 < src.count && !(src[k] == "#" && src[k + 1] == "}") { k += 1 }
                if k + 1 >= src.count {
                    line = startLine
                    throw syntax("unclosed comment")
                }
                passLines(from: pos, to: k)
                let sign = k > pos ? src[k - 1] : nil
                pos = k + 2
                if sign == "-" { leftStrip = .all } else if sign != "+" { leftStrip = .newline }
            case "%":
                tokens.append(Token(kind: .blockBegin, line: line, column: tagColumn))
                let sign = try lexInner(block: true)
                tokens.append(Token(kind: .blockEnd, line: line, column: column - 2))
                if sign == "-" { leftStrip = .all } else if sign != "+" { leftStrip = .newline }
            default:
                tokens.append(Token(kind: .varBegin, line: line, column: tagColumn))
                let sign = try lexInner(block: false)
                tokens.append(Token(kind: .varEnd, line: line, column: column - 2))
                if sign == "-" { leftStrip = .all }
            }
            // Determine whether the next text starts a line (what the tag end consumed).
            consumed = []
            switch leftStrip {
            case .all:
                var k = pos
                while k < src.count && isPyWhitespace(src[k]) { consumed.append(src[k]); k += 1 }
            case .newline:
                if peek() == "\n" { consumed = ["\n"] }
            case .none: break
            }
            lineStarting = consumed.last == "\n"
            if pos >= src.count && leftStrip != .none { leftStrip = .none }
        }
        return tokens
    }

    /// Lexes expression tokens up to the closing `%}` / `}}`; returns the whitespace sign before it.
    mutating func lexInner(block: Bool) throws -> Unicode.Scalar? {
        var depth = 0
        let startLine = line
        while true {
            guard let c = peek() else {
                line = startLine
                throw syntax(block ? "unclosed block tag" : "unclosed variable tag")
            }
            if c == "\n" { line += 1; pos += 1; lineStart = pos; continue }
            if isPyWhitespace(c) { pos += 1; continue }
            // End markers.
            if block {
                if (c == "-" || c == "+") && peek(1) == "%" && peek(2) == "}" { pos += 3; return c }
                if c == "%" && peek(1) == "}" { pos += 2; return nil }
            } else if depth == 0 {
                if (c == "-" || c == "+") && peek(1) == "}" && peek(2) == "}" { pos += 3; return c }
                if c == "}" && peek(1) == "}" { pos += 2; return nil }
            }
            let tokLine = line, tokColumn = column
            if c == "_" || c.properties.isAlphabetic {
                var s = ""
                while let d = peek(), d == "_" || d.properties.isAlphabetic || ("0"..."9").contains(d) {
                    s.unicodeScalars.append(d); pos += 1
                }
                tokens.append(Token(kind: .name(s), line: tokLine, column: tokColumn))
            } else if ("0"..."9").contains(c) {
                var s = ""
                var isFloat = false
                while let d = peek(), ("0"..."9").contains(d) || d == "_" {
                    if d != "_" { s.unicodeScalars.append(d) }
                    pos += 1
                }
                if peek() == ".", let d = peek(1), ("0"..."9").contains(d) {
                    isFloat = true
                    s += "."; pos += 1
                    while let d = peek(), ("0"..."9").contains(d) || d == "_" {
                        if d != "_" { s.unicodeScalars.append(d) }
                        pos += 1
                    }
                }
                if let e = peek(), e == "e" || e == "E" {
                    var k = 1
                    if let sg = peek(1), sg == "+" || sg == "-" { k = 2 }
                    if let d = peek(k), ("0"..."9").contains(d) {
                        isFloat = true
                        s += "e"
                        if k == 2 { s.unicodeScalars.append(peek(1)!) }
                        pos += k
                        while let d = peek(), ("0"..."9").contains(d) { s.unicodeScalars.append(d); pos += 1 }
                    }
                }
                if isFloat {
                    guard let v = Double(s) else { throw syntax("invalid number '\(s)'") }
                    tokens.append(Token(kind: .float(v), line: tokLine, column: tokColumn))
                } else {
                    guard let v = Int(s) else { throw syntax("integer literal '\(s)' out of range") }
                    tokens.append(Token(kind: .int(v), line: tokLine, column: tokColumn))
                }
            } else if c == "'" || c == "\"" {
                tokens.append(Token(kind: .string(try lexString(quote: c)), line: tokLine, column: tokColumn))
            } else {
                let two: String? = peek(1).map { String(Character(c)) + String(Character($0)) }
                if let two, ["//", "**", "==", "!=", "<=", ">="].contains(two) {
                    tokens.append(Token(kind: .op(two), line: tokLine, column: tokColumn)); pos += 2
                } else if "+-*/%~<>=()[]{},.:|".unicodeScalars.contains(c) {
                    if c == "{" || c == "[" || c == "(" { depth += 1 }
                    if c == "}" || c == "]" || c == ")" { depth -= 1 }
                    tokens.append(Token(kind: .op(String(Character(c))), line: tokLine, column: tokColumn)); pos += 1
                } else {
                    throw syntax("unexpected character '\(Character(c))'")
                }
            }
        }
    }

    mutating func lexString(quote: Unicode.Scalar) throws -> String {
        let startLine = line
        pos += 1
        var out = String.UnicodeScalarView()
        while true {
            guard let c = peek() else {
                line = startLine
                throw syntax("unterminated string literal")
            }
            pos += 1
            if c == quote { break }
            if c == "\n" { line += 1; lineStart = pos }
            if c != "\\" { out.append(c); continue }
            guard let e = peek() else { continue }
            pos += 1
            switch e {
            case "n": out.append("\n")
            case "t": out.append("\t")
            case "r": out.append("\r")
            case "\\": out.append("\\")
            case "'": out.append("'")
            case "\"": out.append("\"")
            case "a": out.append("\u{07}")
            case "b": out.append("\u{08}")
            case "f": out.append("\u{0C}")
            case "v": out.append("\u{0B}")
            case "\n": line += 1; lineStart = pos  // line continuation
            case "0"..."7":
                var v = e.value - 48
                var n = 1
                while n < 3, let d = peek(), ("0"..."7").contains(d) { v = v * 8 + d.value - 48; pos += 1; n += 1 }
                out.append(Unicode.Scalar(v)!)
            case "x", "u", "U":
                let len = e == "x" ? 2 : (e == "u" ? 4 : 8)
                var v: UInt32 = 0
                for _ in 0..<len {
                    guard let d = peek(), let h = UInt32(String(Character(d)), radix: 16) else {
                        throw syntax("invalid \\\(Character(e)) escape in string literal")
                    }
                    v = v * 16 + h; pos += 1
                }
                guard let s = Unicode.Scalar(v) else { throw syntax("invalid escape value in string literal") }
                out.append(s)
            default:
                out.append("\\"); out.append(e)
            }
        }
        return String(out)
    }
}
