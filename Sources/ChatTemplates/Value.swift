/// Runtime values with Python/Jinja2 semantics (truthiness, str(), repr(), equality, JSON).

struct Dict {
    var keys: [String] = []
    var map: [String: Value] = [:]
    init() {}
    init(_ pairs: [(String, Value)]) { for (k, v) in pairs { self[k] = v } }
    subscript(key: String) -> Value? {
        get { map[key] }
        set {
            if map[key] == nil, newValue != nil { keys.append(key) }
            if newValue == nil { keys.removeAll { $0 == key } }
            map[key] = newValue
        }
    }
}

final class Namespace {
    var dict = Dict()
}

indirect enum Value {
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case list([Value])
    case dict(Dict)
    case namespace(Namespace)
    case builtin(String)
    case method(Value, String)

    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let v): return v != 0
        case .float(let v): return v != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.isEmpty
        case .dict(let d): return !d.keys.isEmpty
        default: return true
        }
    }

    var isUndefined: Bool { if case .undefined = self { return true }; return false }

    var typeName: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float"
        case .string: return "str"
        case .list: return "list"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .builtin: return "function"
        case .method: return "method"
        }
    }

    /// Python `str(x)`, appended to `out`.
    func writeStr(into out: inout BoundedText) throws {
        switch self {
        case .undefined: return
        case .string(let s): try out.append(s)
        default: try writeRepr(into: &out)
        }
    }

    /// Python `repr(x)`, appended to `out`.
    func writeRepr(into out: inout BoundedText, level: Int = 0) throws {
        try out.checkLevel(level)
        switch self {
        case .undefined: return
        case .none: try out.append("None")
        case .bool(let b): try out.append(b ? "True" : "False")
        case .int(let v): try out.append(String(v))
        case .float(let v): try out.append(pyFloatRepr(v))
        case .string(let s): try out.append(pyStringRepr(s))
        case .list(let l):
            try out.append("[")
            for (k, x) in l.enumerated() {
                if k > 0 { try out.append(", ") }
                try x.writeRepr(into: &out, level: level + 1)
            }
            try out.append("]")
        case .dict(let d):
            try out.append("{")
            for (k, key) in d.keys.enumerated() {
                try out.append((k > 0 ? ", " : "") + pyStringRepr(key) + ": ")
                try d.map[key]?.writeRepr(into: &out, level: level + 1)
            }
            try out.append("}")
        case .namespace(let n):
            try out.append("<Namespace ")
            try Value.dict(n.dict).writeRepr(into: &out, level: level + 1)
            try out.append(">")
        case .builtin(let n): try out.append("<function \(n)>")
        case .method(_, let n): try out.append("<built-in method \(n)>")
        }
    }

    var asNumber: Double? {
        switch self {
        case .int(let v): return Double(v)
        case .float(let v): return v
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
    var asInt: Int? {
        switch self {
        case .int(let v): return v
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    /// Python `==`.
    func equals(_ o: Value) -> Bool {
        switch (self, o) {
        case (.undefined, .undefined), (.none, .none): return true
        case (.string(let a), .string(let b)): return a.unicodeScalars.elementsEqual(b.unicodeScalars)
        case (.list(let a), .list(let b)): return a.count == b.count && zip(a, b).allSatisfy { $0.equals($1) }
        case (.dict(let a), .dict(let b)):
            return a.keys.count == b.keys.count && a.keys.allSatisfy { k in b.map[k].map { a.map[k]!.equals($0) } ?? false }
        case (.namespace(let a), .namespace(let b)): return a === b
        default:
            if let x = asInt, let y = o.asInt { return x == y }
            if let x = asNumber, let y = o.asNumber { return x == y }
            return false
        }
    }
}

/// A string built under a byte limit and a nesting limit: `str()` of a list, `tojson`, `join` can
/// each make far more text than their input holds (a list of one shared 1 MiB string, repeated).
struct BoundedText {
    var text = ""
    let maxBytes: Int
    let maxLevel: Int

    /// Throws once the text is over `maxBytes`; one piece may overshoot it, by at most that piece.
    mutating func append(_ s: String) throws {
        text += s
        if text.utf8.count > maxBytes {
            throw RenderBudget.exceeded("converting a value to text would make over \(maxBytes) bytes, over the per-string limit")
        }
    }

    func checkLevel(_ level: Int) throws {
        if level > maxLevel { throw RenderBudget.exceeded("a value nested more than \(maxLevel) levels deep cannot be converted to text") }
    }
}

func pyFloatRepr(_ v: Double) -> String {
    if v.isNaN { return "nan" }
    if v.isInfinite { return v < 0 ? "-inf" : "inf" }
    if v == v.rounded(), abs(v) < 1e16 {
        // Python prints integral floats below 1e16 positionally.
        return v == 0 && v.sign == .minus ? "-0.0" : String(Int(v)) + ".0"
    }
    var s = "\(v)"
    // Swift uses "e-05"/"e+16" like Python; normalize a missing exponent sign.
    if let e = s.firstIndex(of: "e") {
        let after = s.index(after: e)
        if s[after] != "-" && s[after] != "+" { s.insert("+", at: after) }
        let mant = s[..<e], expo = s[s.index(after: after)...]
        let sign = s[after]
        let digits = expo.count < 2 ? "0" + expo : String(expo)
        s = String(mant) + "e" + String(sign) + digits
    }
    return s
}

func pyStringRepr(_ s: String) -> String {
    let useDouble = s.contains("'") && !s.contains("\"")
    let q: Character = useDouble ? "\"" : "'"
    var out = String(q)
    for c in s.unicodeScalars {
        switch c {
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "'" where !useDouble: out += "\\'"
        default:
            if c.value < 0x20 || c.value == 0x7F {
                let h = String(c.value, radix: 16)
                out += "\\x" + (h.count < 2 ? "0" + h : h)
            } else {
                out.unicodeScalars.append(c)
            }
        }
    }
    out.append(q)
    return out
}

/// jinja2's default `tojson`: `json.dumps(x, sort_keys=True)` then HTML-safe escapes. A negative
/// `indent` indents by nothing, as Python's `" " * indent` does.
func writeJSON(_ v: Value, indent: Int?, into out: inout BoundedText, level: Int = 0) throws {
    try out.checkLevel(level)
    func newline(_ lv: Int) throws {
        guard let indent else { return }
        let (spaces, overflow) = max(0, indent).multipliedReportingOverflow(by: lv)
        if overflow || spaces > out.maxBytes {
            throw RenderBudget.exceeded("tojson indent \(indent) at nesting level \(lv) would make a line over \(out.maxBytes) bytes")
        }
        try out.append("\n" + String(repeating: " ", count: spaces))
    }
    let separator = indent == nil ? ", " : ","
    switch v {
    case .none: try out.append("null")
    case .bool(let b): try out.append(b ? "true" : "false")
    case .int(let i): try out.append(String(i))
    case .float(let d):
        if d.isNaN {
            try out.append("NaN")
        } else if d.isInfinite {
            try out.append(d < 0 ? "-Infinity" : "Infinity")
        } else {
            try out.append(pyFloatRepr(d))
        }
    case .string(let s): try out.append(jsonString(s))
    case .list(let l):
        if l.isEmpty { try out.append("[]"); return }
        try out.append("[")
        for (k, x) in l.enumerated() {
            if k > 0 { try out.append(separator) }
            try newline(level + 1)
            try writeJSON(x, indent: indent, into: &out, level: level + 1)
        }
        try newline(level)
        try out.append("]")
    case .dict(let d):
        if d.keys.isEmpty { try out.append("{}"); return }
        let keys = d.keys.sorted { Array($0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.unicodeScalars.map(\.value)) }
        try out.append("{")
        for (k, key) in keys.enumerated() {
            if k > 0 { try out.append(separator) }
            try newline(level + 1)
            try out.append(jsonString(key) + ": ")
            if let x = d.map[key] { try writeJSON(x, indent: indent, into: &out, level: level + 1) }
        }
        try newline(level)
        try out.append("}")
    default:
        throw ChatTemplateError(kind: .runtime, message: "Object of type \(v.typeName) is not JSON serializable")
    }
}

func jsonString(_ s: String) -> String {
    var out = "\""
    func hex4(_ v: UInt32) -> String {
        let h = String(v, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - h.count) + h
    }
    for c in s.unicodeScalars {
        switch c {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case "\u{08}": out += "\\b"
        case "\u{0C}": out += "\\f"
        case "<", ">", "&", "'": out += hex4(c.value)
        default:
            if c.value < 0x20 || c.value > 0x7F {
                if c.value > 0xFFFF {
                    let v = c.value - 0x10000
                    out += hex4(0xD800 + (v >> 10)) + hex4(0xDC00 + (v & 0x3FF))
                } else {
                    out += hex4(c.value)
                }
            } else {
                out.unicodeScalars.append(c)
            }
        }
    }
    return out + "\""
}
