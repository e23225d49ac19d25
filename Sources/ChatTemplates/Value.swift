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

    /// Python `str(x)`.
    var str: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return repr
        }
    }

    /// Python `repr(x)`.
    var repr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let v): return String(v)
        case .float(let v): return pyFloatRepr(v)
        case .string(let s): return pyStringRepr(s)
        case .list(let l): return "[" + l.map(\.repr).joined(separator: ", ") + "]"
        case .dict(let d): return "{" + d.keys.map { pyStringRepr($0) + ": " + d.map[$0]!.repr }.joined(separator: ", ") + "}"
        case .namespace(let n): return "<Namespace " + Value.dict(n.dict).repr + ">"
        case .builtin(let n): return "<function \(n)>"
        case .method(_, let n): return "<built-in method \(n)>"
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

/// jinja2's default `tojson`: `json.dumps(x, sort_keys=True)` then HTML-safe escapes.
func toJSON(_ v: Value, indent: Int?, level: Int = 0) throws -> String {
    func nl(_ lv: Int) -> String { indent.map { "\n" + String(repeating: " ", count: $0 * lv) } ?? "" }
    switch v {
    case .none: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .int(let i): return String(i)
    case .float(let d):
        if d.isNaN { return "NaN" }
        if d.isInfinite { return d < 0 ? "-Infinity" : "Infinity" }
        return pyFloatRepr(d)
    case .string(let s): return jsonString(s)
    case .list(let l):
        if l.isEmpty { return "[]" }
        let sep = indent == nil ? ", " : ","
        return "[" + nl(level + 1) + (try l.map { try toJSON($0, indent: indent, level: level + 1) }).joined(separator: sep + nl(level + 1))
            + nl(level) + "]"
    case .dict(let d):
        if d.keys.isEmpty { return "{}" }
        let sep = indent == nil ? ", " : ","
        let keys = d.keys.sorted { Array($0.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.unicodeScalars.map(\.value)) }
        return "{" + nl(level + 1)
            + (try keys.map { jsonString($0) + ": " + (try toJSON(d.map[$0]!, indent: indent, level: level + 1)) }).joined(
                separator: sep + nl(level + 1)) + nl(level) + "}"
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
