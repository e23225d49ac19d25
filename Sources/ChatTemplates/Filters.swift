/// Jinja2 filters and tests. Anything not listed here throws an "unsupported …" error.

extension Evaluator {
    func arg(_ name: String, _ pos: Int, _ args: [Value], _ kwargs: [(String, Value)]) -> Value? {
        if pos < args.count { return args[pos] }
        return kwargs.first { $0.0 == name }?.1
    }

    func applyFilter(_ name: String, _ v: Value, _ args: [Value], _ kwargs: [(String, Value)], line: Int) throws -> Value {
        func needString() throws -> String {
            if case .undefined = v { return "" }
            return try text(v)
        }
        switch name {
        case "trim":
            let chars = try strArg(arg("chars", 0, args, kwargs), "trim chars", line: line)
            return .string(pyStrip(try needString(), chars: chars, left: true, right: true))
        case "upper": return .string(try needString().uppercased())
        case "lower": return .string(try needString().lowercased())
        case "capitalize": return .string(capitalize(try needString()))
        case "title":
            // jinja2's title: split on runs of "-", whitespace, "(", "{", "[", "<"; capitalize pieces.
            var out = "", word = ""
            func flush() {
                if !word.isEmpty {
                    out += String(word.unicodeScalars.first!).uppercased() + String(word.unicodeScalars.dropFirst()).lowercased(); word = ""
                }
            }
            for c in try needString().unicodeScalars {
                if isPyWhitespace(c) || "-({[<".unicodeScalars.contains(c) {
                    flush(); out.unicodeScalars.append(c)
                } else {
                    word.unicodeScalars.append(c)
                }
            }
            flush()
            return .string(out)
        case "string": return .string(try text(v))
        case "safe": return v
        case "length", "count":
            switch v {
            case .string(let s): return .int(s.unicodeScalars.count)
            case .list(let l): return .int(l.count)
            case .dict(let d): return .int(d.keys.count)
            case .undefined: return .int(0)
            default: throw runtime("object of type '\(v.typeName)' has no len()", line)
            }
        case "tojson":
            var indent: Int? = nil
            if let iv = arg("indent", 0, args, kwargs), !(iv.equals(.none)) {
                guard let i = iv.asInt else { throw runtime("tojson indent must be an integer", line) }
                indent = i
            }
            var out = BoundedText(maxBytes: budget.limits.maxStringBytes, maxLevel: valueLevelLimit)
            do { try writeJSON(v, indent: indent, into: &out) } catch var e as ChatTemplateError { e.line = line; throw e }
            return .string(out.text)
        case "join":
            let sep = try arg("d", 0, args, kwargs).map(text) ?? ""
            if arg("attribute", 1, args, kwargs) != nil { throw unsupported("'attribute' argument of filter 'join'", line) }
            var out = BoundedText(maxBytes: budget.limits.maxStringBytes, maxLevel: valueLevelLimit)
            for (k, item) in try iterate(v, line: line).enumerated() {
                try budget.step(line: line)
                if k > 0 { try out.append(sep) }
                try item.writeStr(into: &out)
            }
            return .string(out.text)
        case "first":
            return try iterate(v, line: line).first ?? .undefined("first")
        case "last":
            switch v {
            case .undefined: return .undefined("last")
            default: return try iterate(v, line: line).last ?? .undefined("last")
            }
        case "default", "d":
            let dflt = arg("default_value", 0, args, kwargs) ?? .string("")
            let boolean = arg("boolean", 1, args, kwargs)?.truthy ?? false
            if v.isUndefined || (boolean && !v.truthy) { return dflt }
            return v
        case "list": return .list(try iterate(v, line: line))
        case "reverse":
            if case .string(let s) = v { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .list(try iterate(v, line: line).reversed())
        case "replace":
            guard args.count >= 2 else { throw runtime("filter 'replace' needs two arguments", line) }
            return .string(
                try replace(
                    try needString(), try text(args[0]), try text(args[1]), count: args.count > 2 ? (args[2].asInt ?? -1) : -1,
                    budget: budget, line: line))
        case "int":
            switch v {
            case .int: return v
            case .bool(let b): return .int(b ? 1 : 0)
            case .float(let d):
                if d.isNaN { return arg("default", 0, args, kwargs) ?? .int(0) }
                // Int(d) traps outside Int's range; 2^63 is the first Double past Int.max.
                guard d >= -9_223_372_036_854_775_808.0 && d < 9_223_372_036_854_775_808.0 else {
                    throw overflow("int(\(pyFloatRepr(d)))", line)
                }
                return .int(Int(d))
            case .string(let s):
                return .int(Int(pyStrip(s, chars: nil, left: true, right: true)) ?? (arg("default", 0, args, kwargs)?.asInt ?? 0))
            default: return arg("default", 0, args, kwargs) ?? .int(0)
            }
        case "float":
            switch v {
            case .float: return v
            case .int(let i): return .float(Double(i))
            case .bool(let b): return .float(b ? 1 : 0)
            case .string(let s): return .float(Double(pyStrip(s, chars: nil, left: true, right: true)) ?? 0)
            default: return .float(0)
            }
        case "abs":
            if case .int(let i) = v {
                guard i != Int.min else { throw overflow("abs(\(i))", line) }
                return .int(abs(i))
            }
            if case .float(let d) = v { return .float(abs(d)) }
            throw runtime("bad operand type for abs(): '\(v.typeName)'", line)
        case "items":
            guard case .dict(let d) = v else {
                if v.isUndefined { return .list([]) }
                throw runtime("filter 'items' expects a mapping", line)
            }
            return .list(d.keys.map { .list([.string($0), d.map[$0]!]) })
        case "map":
            if let attrV = kwargs.first(where: { $0.0 == "attribute" })?.1 {
                let dflt = kwargs.first { $0.0 == "default" }?.1
                return .list(
                    try iterate(v, line: line).map { item in
                        try budget.step(line: line)
                        let r = try getItem(item, attrV, line: line)
                        if r.isUndefined, let dflt { return dflt }
                        return r
                    })
            }
            guard case .string(let fname)? = args.first else { throw unsupported("form of filter 'map'", line) }
            return .list(
                try iterate(v, line: line).map {
                    try budget.step(line: line)
                    return try applyFilter(fname, $0, Array(args.dropFirst()), [], line: line)
                })
        case "selectattr", "rejectattr", "select", "reject":
            let isAttr = name.hasSuffix("attr")
            let off = isAttr ? 1 : 0
            guard !isAttr || args.first != nil else { throw runtime("filter '\(name)' needs an attribute name", line) }
            let select = name.hasPrefix("select")
            return .list(
                try iterate(v, line: line).filter { item in
                    try budget.step(line: line)
                    let x = isAttr ? try getItem(item, args[0], line: line) : item
                    let r: Bool
                    if case .string(let test)? = args.count > off ? args[off] : nil {
                        r = try applyTest(test, x, Array(args.dropFirst(off + 1)), line: line)
                    } else {
                        r = x.truthy
                    }
                    return r == select
                })
        default:
            throw unsupported("filter '\(name)'", line)
        }
    }

    func applyTest(_ name: String, _ v: Value, _ args: [Value], line: Int) throws -> Bool {
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": if case .none = v { return true }; return false
        case "string": if case .string = v { return true }; return false
        case "number":
            switch v {
            case .int, .float: return true;
            default: return false
            }
        case "integer": if case .int = v { return true }; return false
        case "float": if case .float = v { return true }; return false
        case "boolean": if case .bool = v { return true }; return false
        case "true": if case .bool(true) = v { return true }; return false
        case "false": if case .bool(false) = v { return true }; return false
        case "mapping":
            switch v {
            case .dict: return true;
            default: return false
            }
        case "sequence":
            switch v {
            case .list, .string, .dict: return true;
            default: return false
            }
        case "iterable":
            switch v {
            case .list, .string, .dict: return true;
            default: return false
            }
        case "callable":
            switch v {
            case .builtin, .method: return true;
            default: return false
            }
        case "lower":
            if case .string(let s) = v {
                return s == s.lowercased() && s != s.uppercased() || (s.lowercased() == s && s.contains { $0.isLowercase })
            }; return false
        case "upper": if case .string(let s) = v { return s == s.uppercased() && s.contains { $0.isUppercase } }; return false
        case "even", "odd":
            guard let i = v.asInt else { throw runtime("test '\(name)' needs an integer", line) }
            let even = i % 2 == 0
            return name == "even" ? even : !even
        case "divisibleby":
            guard let i = v.asInt, let d = args.first?.asInt, d != 0 else { throw runtime("test 'divisibleby' needs integers", line) }
            return i.remainderReportingOverflow(dividingBy: d).partialValue == 0
        case "eq", "equalto", "==": guard let a = args.first else { break }; return v.equals(a)
        case "ne", "!=": guard let a = args.first else { break }; return !v.equals(a)
        case "sameas":
            guard let a = args.first else { break }
            switch (v, a) {
            case (.none, .none): return true
            case (.bool(let x), .bool(let y)): return x == y
            case (.namespace(let x), .namespace(let y)): return x === y
            default: return false
            }
        case "in":
            guard let a = args.first else { break }
            return try binary("in", v, a, line: line).truthy
        default:
            throw unsupported("test '\(name)'", line)
        }
        throw runtime("test '\(name)' needs an argument", line)
    }
}
