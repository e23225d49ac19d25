/// Tree-walking evaluator with Jinja2 scoping: `for` bodies get their own scope, `if` does not,
/// and `namespace()` objects are shared references so `{% set ns.x = … %}` escapes loops.
/// Every size, count, nesting level and the time it takes are charged to one `RenderBudget`, and
/// integer arithmetic is checked, so a hostile template ends in a thrown error.

final class Evaluator {
    var output = ""
    var scopes: [[String: Value]]
    let budget: RenderBudget

    init(globals: [String: Value], budget: RenderBudget = RenderBudget(limits: .standard)) {
        self.budget = budget
        var g: [String: Value] = [
            "raise_exception": .builtin("raise_exception"), "namespace": .builtin("namespace"), "range": .builtin("range"),
            "dict": .builtin("dict"),
        ]
        for (k, v) in globals { g[k] = v }
        scopes = [g]
    }

    func unsupported(_ what: String, _ line: Int?) -> ChatTemplateError {
        ChatTemplateError(kind: .unsupported, message: "unsupported \(what)", line: line)
    }
    func runtime(_ msg: String, _ line: Int?) -> ChatTemplateError {
        ChatTemplateError(kind: .runtime, message: msg, line: line)
    }
    func overflow(_ what: String, _ line: Int?) -> ChatTemplateError {
        ChatTemplateError(kind: .limitExceeded, message: "integer overflow: \(what) does not fit in a 64-bit integer", line: line)
    }

    /// Python `str(x)`, within the per-string limit.
    func text(_ v: Value) throws -> String {
        if case .string(let s) = v { return s }
        var out = BoundedText(maxBytes: budget.limits.maxStringBytes, maxLevel: valueLevelLimit)
        try v.writeStr(into: &out)
        return out.text
    }

    /// How deep `str()`/`tojson` follow values. Values get deeper only one literal, call or loop
    /// at a time, which the parser's nesting limit bounds, and `{% set ns.x %}` (the one way to
    /// carry a value into the next iteration) checks `maxNestingDepth`; this is the backstop.
    var valueLevelLimit: Int { budget.limits.maxNestingDepth * 2 + 16 }

    func appendOutput(_ s: String, line: Int?) throws {
        output += s
        try budget.checkOutput(bytes: output.utf8.count, line: line)
    }

    func lookup(_ name: String) -> Value {
        for s in scopes.reversed() { if let v = s[name] { return v } }
        return .undefined(name)
    }

    // MARK: Statements

    func exec(_ body: [Stmt]) throws {
        for s in body { try exec(s) }
    }

    func exec(_ s: Stmt) throws {
        // Only the tags with a body nest, as the parser counts them.
        let nests: Bool
        switch s {
        case .ifs, .forLoop, .setBlock: nests = true
        default: nests = false
        }
        if nests { try budget.enter(line: s.line) }
        defer { if nests { budget.leave() } }
        try budget.step(line: s.line)
        switch s {
        case .text(let t): try appendOutput(t, line: nil)
        case .output(let e, let line):
            let v = try eval(e)
            try appendOutput(try text(v), line: line)  // Undefined prints as ""
        case .ifs(let branches, let otherwise, _):
            for (c, body) in branches where try eval(c).truthy {
                try exec(body)
                return
            }
            try exec(otherwise)
        case .forLoop(let targets, let iterE, let filter, let body, let otherwise, let line):
            let seq = try iterate(try eval(iterE), line: line)
            scopes.append([:])
            defer { scopes.removeLast() }
            var items: [Value] = []
            if let filter {
                for it in seq {
                    try budget.loopIteration(line: line)
                    try bind(targets, it, line: line)
                    if try eval(filter).truthy { items.append(it) }
                }
            } else {
                items = seq
            }
            if items.isEmpty {
                scopes[scopes.count - 1] = [:]
                try exec(otherwise)
                return
            }
            let n = items.count
            for (idx, it) in items.enumerated() {
                // Each iteration starts from a fresh scope: jinja2 does not carry a `set` from
                // one iteration into the next (reads before the `set` see the outer value).
                try budget.loopIteration(line: line)
                scopes[scopes.count - 1] = [:]
                try bind(targets, it, line: line)
                scopes[scopes.count - 1]["loop"] = .dict(
                    Dict([
                        ("index", .int(idx + 1)), ("index0", .int(idx)),
                        ("revindex", .int(n - idx)), ("revindex0", .int(n - idx - 1)),
                        ("first", .bool(idx == 0)), ("last", .bool(idx == n - 1)), ("length", .int(n)),
                        ("previtem", idx > 0 ? items[idx - 1] : .undefined("previtem")),
                        ("nextitem", idx + 1 < n ? items[idx + 1] : .undefined("nextitem")),
                    ]))
                try exec(body)
            }
        case .set(let name, let attr, let e, let line):
            let v = try eval(e)
            if let attr {
                guard case .namespace(let ns) = lookup(name) else {
                    throw runtime("cannot assign attribute on non-namespace object '\(name)'", line)
                }
                try checkStorable(v, level: 1, line: line)
                ns.dict[attr] = v
            } else {
                scopes[scopes.count - 1][name] = v
            }
        case .setBlock(let name, let body, _):
            let saved = output
            defer { output = saved }
            output = ""
            try exec(body)
            scopes[scopes.count - 1][name] = .string(output)
        }
    }

    /// A value stored in a namespace attribute outlives the loop iteration that made it, so a loop
    /// could nest it one level deeper each time (`{% set ns.x = [ns.x] %}`) until printing,
    /// comparing or even freeing it overflows the stack. It must stay within the nesting limit,
    /// and it may not hold a namespace: that could make a cycle (`{% set ns.self = ns %}`).
    func checkStorable(_ v: Value, level: Int, line: Int) throws {
        if level > budget.limits.maxNestingDepth {
            throw RenderBudget.exceeded(
                "a value nested more than \(budget.limits.maxNestingDepth) levels deep cannot be stored in a namespace", line: line)
        }
        switch v {
        case .list(let l):
            try budget.step(cost: l.count, line: line)
            for x in l { try checkStorable(x, level: level + 1, line: line) }
        case .dict(let d):
            try budget.step(cost: d.keys.count, line: line)
            for x in d.map.values { try checkStorable(x, level: level + 1, line: line) }
        case .method(let receiver, _): try checkStorable(receiver, level: level + 1, line: line)
        case .namespace: throw unsupported("storing a namespace inside a namespace", line)
        default: return
        }
    }

    func bind(_ targets: [String], _ v: Value, line: Int) throws {
        if targets.count == 1 { scopes[scopes.count - 1][targets[0]] = v; return }
        let parts = try iterate(v, line: line)
        guard parts.count == targets.count else {
            throw runtime("cannot unpack \(parts.count) values into \(targets.count) loop variables", line)
        }
        for (t, p) in zip(targets, parts) { scopes[scopes.count - 1][t] = p }
    }

    func iterate(_ v: Value, line: Int?) throws -> [Value] {
        switch v {
        case .undefined: return []
        case .list(let l): return l
        case .dict(let d): return d.keys.map { .string($0) }
        case .string(let s):
            try budget.checkSequence(count: s.unicodeScalars.count, "iterating a string", line: line)
            return s.unicodeScalars.map { .string(String($0)) }
        default: throw runtime("'\(v.typeName)' object is not iterable", line)
        }
    }

    // MARK: Expressions

    /// Evaluates `e`, charging what it computes to the budget; an error from below that knows no
    /// line gets this node's.
    func eval(_ e: Expr) throws -> Value {
        do {
            try budget.enter(line: e.line)
            defer { budget.leave() }
            let v = try evalNode(e)
            switch e {
            case .binary, .filter, .call, .slice, .list, .dict: try budget.charge(v, line: e.line)
            default: break
            }
            return v
        } catch var error as ChatTemplateError where error.line == nil && e.line != nil {
            error.line = e.line
            throw error
        }
    }

    private func evalNode(_ e: Expr) throws -> Value {
        switch e {
        case .literal(let l):
            switch l {
            case .none: return .none
            case .bool(let b): return .bool(b)
            case .int(let i): return .int(i)
            case .float(let d): return .float(d)
            case .string(let s): return .string(s)
            }
        case .name(let n, _): return lookup(n)
        case .list(let items): return .list(try items.map(eval))
        case .dict(let items):
            var d = Dict()
            for (ke, ve) in items {
                guard case .string(let k) = try eval(ke) else { throw unsupported("non-string dictionary key", nil) }
                d[k] = try eval(ve)
            }
            return .dict(d)
        case .attr(let base, let name, let line):
            return try getAttr(try eval(base), name, line: line)
        case .`subscript`(let base, let idx, let line):
            return try getItem(try eval(base), try eval(idx), line: line)
        case .slice(let base, let a, let b, let c, let line):
            let v = try eval(base)
            func opt(_ x: Expr?) throws -> Int? {
                guard let x else { return nil }
                let v = try eval(x)
                if case .none = v { return nil }
                guard let i = v.asInt else { throw runtime("slice indices must be integers or None", line) }
                return i
            }
            return try slice(v, try opt(a), try opt(b), try opt(c), line: line)
        case .call(let fe, let argE, let kwE, let line):
            let f = try eval(fe)
            if case .undefined = f, case .attr(let base, let name, _) = fe, !(try eval(base)).isUndefined {
                // A method this interpreter lacks (e.g. str.zfill, list.append): say so by name.
                throw unsupported("method '\(name)'", line)
            }
            let args = try argE.map(eval)
            var kwargs: [(String, Value)] = []
            for (k, ve) in kwE { kwargs.append((k, try eval(ve))) }
            return try call(f, args, kwargs, line: line)
        case .filter(let base, let name, let argE, let kwE, let line):
            let v = try eval(base)
            let args = try argE.map(eval)
            var kwargs: [(String, Value)] = []
            for (k, ve) in kwE { kwargs.append((k, try eval(ve))) }
            return try applyFilter(name, v, args, kwargs, line: line)
        case .test(let base, let name, let argE, let negated, let line):
            let r = try applyTest(name, try eval(base), try argE.map(eval), line: line)
            return .bool(negated ? !r : r)
        case .unary(let op, let x, let line):
            let v = try eval(x)
            switch op {
            case "not": return .bool(!v.truthy)
            case "-":
                if case .int(let i) = v {
                    let (negated, o) = Int(0).subtractingReportingOverflow(i)
                    if o { throw overflow("-(\(i))", line) }
                    return .int(negated)
                }
                if case .float(let d) = v { return .float(-d) }
                if case .bool(let b) = v { return .int(b ? -1 : 0) }
                throw runtime("bad operand type for unary -: '\(v.typeName)'", line)
            default:
                guard v.asNumber != nil else { throw runtime("bad operand type for unary +: '\(v.typeName)'", line) }
                return v
            }
        case .binary(let op, let le, let re, let line):
            if op == "and" { let l = try eval(le); return l.truthy ? try eval(re) : l }
            if op == "or" { let l = try eval(le); return l.truthy ? l : try eval(re) }
            return try binary(op, try eval(le), try eval(re), line: line)
        case .cond(let then, let c, let other):
            if try eval(c).truthy { return try eval(then) }
            return try other.map(eval) ?? .undefined("")
        }
    }

    func getAttr(_ v: Value, _ name: String, line: Int) throws -> Value {
        switch v {
        case .undefined(let n): throw runtime("'\(n)' is undefined", line)
        case .dict(let d):
            if ["items", "keys", "values", "get"].contains(name) { return .method(v, name) }
            return d[name] ?? .undefined(name)
        case .namespace(let ns): return ns.dict[name] ?? .undefined(name)
        case .string:
            if stringMethods.contains(name) { return .method(v, name) }
            return .undefined(name)
        default: return .undefined(name)
        }
    }

    let stringMethods: Set<String> = [
        "strip", "lstrip", "rstrip", "startswith", "endswith", "split", "upper", "lower", "title", "capitalize", "replace",
    ]

    func normIndex(_ i: Int, _ n: Int) -> Int? {
        let j = i < 0 ? i + n : i
        return j >= 0 && j < n ? j : nil
    }

    func getItem(_ v: Value, _ idx: Value, line: Int) throws -> Value {
        switch (v, idx) {
        case (.undefined(let n), _): throw runtime("'\(n)' is undefined", line)
        case (.dict(let d), .string(let k)):
            if let x = d[k] { return x }
            if ["items", "keys", "values", "get"].contains(k) { return .method(v, k) }
            return .undefined(k)
        case (.namespace(let ns), .string(let k)): return ns.dict[k] ?? .undefined(k)
        case (.list(let l), _):
            guard let i = idx.asInt else { return .undefined("") }
            return normIndex(i, l.count).map { l[$0] } ?? .undefined("")
        case (.string, .string(let k)): return try getAttr(v, k, line: line)
        case (.string(let s), _):
            guard let i = idx.asInt else { return .undefined("") }
            let sc = Array(s.unicodeScalars)
            return normIndex(i, sc.count).map { .string(String(sc[$0])) } ?? .undefined("")
        default: return .undefined("")
        }
    }

    func sliceIndices(_ n: Int, _ a: Int?, _ b: Int?, _ c: Int?, line: Int) throws -> [Int] {
        let step = c ?? 1
        if step == 0 { throw runtime("slice step cannot be zero", line) }
        func clamp(_ x: Int?, _ dflt: Int, lo: Int, hi: Int) -> Int {
            guard var x else { return dflt }
            if x < 0 { x += n }
            return min(max(x, lo), hi)
        }
        // A step past the end stops the walk (`i + step` may not fit an Int: `[1, 2][1::2**62]`).
        var out: [Int] = []
        if step > 0 {
            var i = clamp(a, 0, lo: 0, hi: n)
            let end = clamp(b, n, lo: 0, hi: n)
            while i < end {
                out.append(i)
                let (next, o) = i.addingReportingOverflow(step)
                if o { break }
                i = next
            }
        } else {
            var i = clamp(a, n - 1, lo: -1, hi: n - 1)
            let end = clamp(b, -1, lo: -1, hi: n - 1)
            while i > end {
                out.append(i)
                let (next, o) = i.addingReportingOverflow(step)
                if o { break }
                i = next
            }
        }
        return out
    }

    func slice(_ v: Value, _ a: Int?, _ b: Int?, _ c: Int?, line: Int) throws -> Value {
        switch v {
        case .list(let l): return .list(try sliceIndices(l.count, a, b, c, line: line).map { l[$0] })
        case .string(let s):
            let sc = Array(s.unicodeScalars)
            var out = String.UnicodeScalarView()
            for i in try sliceIndices(sc.count, a, b, c, line: line) { out.append(sc[i]) }
            return .string(String(out))
        case .undefined(let n): throw runtime("'\(n)' is undefined", line)
        default: throw runtime("'\(v.typeName)' object is not subscriptable", line)
        }
    }

    func binary(_ op: String, _ l: Value, _ r: Value, line: Int) throws -> Value {
        func typeError() -> ChatTemplateError {
            if case .undefined(let n) = l { return runtime("'\(n)' is undefined", line) }
            if case .undefined(let n) = r { return runtime("'\(n)' is undefined", line) }
            return runtime("unsupported operand type(s) for \(op): '\(l.typeName)' and '\(r.typeName)'", line)
        }
        switch op {
        case "~":
            let (a, b) = (try text(l), try text(r))
            try budget.checkString(bytes: a.utf8.count + b.utf8.count, "'~'", line: line)
            return .string(a + b)
        case "==": return .bool(l.equals(r))
        case "!=": return .bool(!l.equals(r))
        case "in", "not in":
            var found: Bool
            switch r {
            case .string(let s):
                guard case .string(let sub) = l else {
                    throw runtime("'in <string>' requires string as left operand, not \(l.typeName)", line)
                }
                found = try sub.isEmpty || containsScalars(s, sub)
            case .list(let xs): found = xs.contains { $0.equals(l) }
            case .dict(let d):
                if case .string(let k) = l { found = d[k] != nil } else { found = false }
            case .undefined(let n): throw runtime("'\(n)' is undefined", line)
            default: throw runtime("argument of type '\(r.typeName)' is not iterable", line)
            }
            return .bool(op == "in" ? found : !found)
        case "<", "<=", ">", ">=":
            let c: Int
            if let a = l.asInt, let b = r.asInt {
                c = a < b ? -1 : (a == b ? 0 : 1)
            } else if let a = l.asNumber, let b = r.asNumber {
                c = a < b ? -1 : (a == b ? 0 : 1)
            } else if case .string(let a) = l, case .string(let b) = r {
                let x = a.unicodeScalars.map(\.value), y = b.unicodeScalars.map(\.value)
                c = x.lexicographicallyPrecedes(y) ? -1 : (x == y ? 0 : 1)
            } else {
                throw runtime("'\(op)' not supported between instances of '\(l.typeName)' and '\(r.typeName)'", line)
            }
            switch op {
            case "<": return .bool(c < 0)
            case "<=": return .bool(c <= 0)
            case ">": return .bool(c > 0)
            default: return .bool(c >= 0)
            }
        case "+":
            switch (l, r) {
            case (.string(let a), .string(let b)):
                try budget.checkString(bytes: a.utf8.count + b.utf8.count, "'+'", line: line)
                return .string(a + b)
            case (.list(let a), .list(let b)):
                try budget.checkSequence(count: a.count + b.count, "'+'", line: line)
                return .list(a + b)
            default: break
            }
        case "*":
            switch (l, r) {
            case (.string(let s), _) where r.asInt != nil: return .string(try repeated(s, r.asInt ?? 0, line: line))
            case (_, .string(let s)) where l.asInt != nil: return .string(try repeated(s, l.asInt ?? 0, line: line))
            case (.list(let a), _) where r.asInt != nil:
                let times = max(0, r.asInt ?? 0)
                let (count, o) = a.count.multipliedReportingOverflow(by: times)
                try budget.checkSequence(count: o ? Int.max : count, "a list of \(a.count) elements * \(times)", line: line)
                // Joining repeats walks `times` copies even when each is empty (fuzzer: `[]*5**18`).
                return .list(count == 0 ? [] : Array(repeatElement(a, count: times).joined()))
            default: break
            }
        case "%":
            if case .string = l { throw unsupported("string formatting with '%'", line) }
        default: break
        }
        // Numeric arithmetic.
        if let a = l.asInt, let b = r.asInt {
            switch op {
            case "+", "-", "*":
                let (v, o) =
                    op == "+"
                    ? a.addingReportingOverflow(b) : (op == "-" ? a.subtractingReportingOverflow(b) : a.multipliedReportingOverflow(by: b))
                if o { throw overflow("\(a) \(op) \(b)", line) }
                return .int(v)
            case "/":
                if b == 0 { throw runtime("division by zero", line) }
                return .float(Double(a) / Double(b))
            case "//", "%":
                if b == 0 { throw runtime("integer division or modulo by zero", line) }
                // Int.min / -1 is the one quotient that overflows; its remainder is 0.
                let (q0, o) = a.dividedReportingOverflow(by: b)
                if o && op == "//" { throw overflow("\(a) // \(b)", line) }
                var q = q0, m = o ? 0 : a % b
                if m != 0 && ((m < 0) != (b < 0)) { q -= 1; m += b }
                return .int(op == "//" ? q : m)
            case "**":
                if b < 0 { return .float(pow(Double(a), Double(b))) }
                return .int(try integerPower(a, b, line: line))
            default: break
            }
        }
        if let a = l.asNumber, let b = r.asNumber {
            switch op {
            case "+": return .float(a + b)
            case "-": return .float(a - b)
            case "*": return .float(a * b)
            case "/":
                if b == 0 { throw runtime("float division by zero", line) }
                return .float(a / b)
            case "//", "%":
                if b == 0 { throw runtime("float modulo", line) }
                let q = (a / b).rounded(.down)
                return .float(op == "//" ? q : a - q * b)
            case "**": return .float(pow(a, b))
            default: break
            }
        }
        throw typeError()
    }

    /// `base ** exponent` (exponent ≥ 0) by repeated squaring: at most 126 checked multiplications.
    func integerPower(_ base: Int, _ exponent: Int, line: Int) throws -> Int {
        // 0, 1 and -1 stay in range whatever the exponent; for any other base a square that
        // overflows while exponent bits remain means the result overflows too.
        switch base {
        case 0: return exponent == 0 ? 1 : 0
        case 1: return 1
        case -1: return exponent & 1 == 0 ? 1 : -1
        default: break
        }
        var result = 1, square = base, e = exponent
        while true {
            if e & 1 == 1 {
                let (v, o) = result.multipliedReportingOverflow(by: square)
                if o { throw overflow("\(base) ** \(exponent)", line) }
                result = v
            }
            e >>= 1
            if e == 0 { return result }
            let (v, o) = square.multipliedReportingOverflow(by: square)
            if o { throw overflow("\(base) ** \(exponent)", line) }
            square = v
        }
    }

    /// `s * times`, within the per-string limit (Python gives "" for a count below 1).
    func repeated(_ s: String, _ times: Int, line: Int) throws -> String {
        let times = max(0, times)
        let (bytes, o) = s.utf8.count.multipliedReportingOverflow(by: times)
        try budget.checkString(bytes: o ? Int.max : bytes, "a string of \(s.utf8.count) bytes * \(times)", line: line)
        // String(repeating:count:) loops `times` times even for "" (fuzzer: `''*5**18` ran for hours).
        return bytes == 0 ? "" : String(repeating: s, count: times)
    }

    func pow(_ a: Double, _ b: Double) -> Double {
        // Minimal pow without Foundation: integer exponents only.
        guard b == b.rounded(), abs(b) < 1_048_576 else { return .nan }
        var r = 1.0
        for _ in 0..<Int(abs(b)) { r *= a }
        return b < 0 ? 1 / r : r
    }

    func containsScalars(_ s: String, _ sub: String) throws -> Bool {
        let a = Array(s.unicodeScalars), b = Array(sub.unicodeScalars)
        if b.count > a.count { return false }
        for i in 0...(a.count - b.count) where a[i] == b[0] {
            try budget.step(cost: b.count)
            if a[i..<(i + b.count)].elementsEqual(b) { return true }
        }
        return false
    }

    // MARK: Calls

    func call(_ f: Value, _ args: [Value], _ kwargs: [(String, Value)], line: Int) throws -> Value {
        switch f {
        case .builtin("raise_exception"):
            let msg = try args.first.map(text) ?? ""
            throw ChatTemplateError(kind: .raised, message: msg, line: line)
        case .builtin(let name) where name == "namespace" || name == "dict":
            var d = Dict()
            if let first = args.first {
                guard case .dict(let init0) = first else { throw runtime("\(name)() positional argument must be a dict", line) }
                d = init0
            }
            for (k, v) in kwargs { d[k] = v }
            if case .builtin("dict") = f { return .dict(d) }
            let ns = Namespace()
            ns.dict = d
            return .namespace(ns)
        case .builtin("range"):
            let ints = try args.map { a -> Int in
                guard let i = a.asInt else { throw runtime("range() arguments must be integers", line) }
                return i
            }
            var (start, stop, step) = (0, 0, 1)
            switch ints.count {
            case 1: stop = ints[0]
            case 2: (start, stop) = (ints[0], ints[1])
            case 3: (start, stop, step) = (ints[0], ints[1], ints[2])
            default: throw runtime("range expected 1 to 3 arguments", line)
            }
            if step == 0 { throw runtime("range() arg 3 must not be zero", line) }
            let count = rangeCount(start: start, stop: stop, step: step)
            try budget.checkSequence(count: count, "range(\(start), \(stop), \(step))", line: line)
            var out: [Value] = []
            out.reserveCapacity(count)
            var i = start
            for k in 0..<count {
                out.append(.int(i))
                if k + 1 < count { i &+= step }  // stays between start and stop, so it cannot wrap
            }
            return .list(out)
        case .method(let recv, let name):
            return try callMethod(recv, name, args, kwargs, line: line)
        case .undefined(let n):
            throw runtime("'\(n)' is undefined", line)
        default:
            throw runtime("'\(f.typeName)' object is not callable", line)
        }
    }

    /// How many values `range(start, stop, step)` yields, computed without overflow (the distance
    /// between two Ints fits in a UInt); saturates at Int.max.
    func rangeCount(start: Int, stop: Int, step: Int) -> Int {
        guard step > 0 ? start < stop : start > stop else { return 0 }
        let distance = step > 0 ? UInt(bitPattern: stop &- start) : UInt(bitPattern: start &- stop)
        let stride = step.magnitude
        let count = (distance - 1) / stride + 1
        return count > UInt(Int.max) ? Int.max : Int(count)
    }

    func strArg(_ v: Value?, _ what: String, line: Int) throws -> String? {
        guard let v else { return nil }
        if case .none = v { return nil }
        guard case .string(let s) = v else { throw runtime("\(what) must be str, not \(v.typeName)", line) }
        return s
    }

    func callMethod(_ recv: Value, _ name: String, _ args: [Value], _ kwargs: [(String, Value)], line: Int) throws -> Value {
        if case .dict(let d) = recv {
            switch name {
            case "items": return .list(d.keys.map { .list([.string($0), d.map[$0]!]) })
            case "keys": return .list(d.keys.map { .string($0) })
            case "values": return .list(d.keys.map { d.map[$0]! })
            case "get":
                guard case .string(let k)? = args.first else { return args.count > 1 ? args[1] : .none }
                return d[k] ?? (args.count > 1 ? args[1] : .none)
            default: break
            }
        }
        guard case .string(let s) = recv else { throw unsupported("method '\(name)' on \(recv.typeName)", line) }
        if !kwargs.isEmpty { throw unsupported("keyword arguments to str.\(name)()", line) }
        switch name {
        case "strip", "lstrip", "rstrip":
            let chars = try strArg(args.first, "\(name) arg", line: line)
            return .string(pyStrip(s, chars: chars, left: name != "rstrip", right: name != "lstrip"))
        case "startswith", "endswith":
            var candidates: [String] = []
            switch args.first {
            case .string(let p)?: candidates = [p]
            case .list(let ps)?:
                for p in ps {
                    guard case .string(let x) = p else { throw runtime("tuple for \(name) must only contain str", line) };
                    candidates.append(x)
                }
            default: throw runtime("\(name) first arg must be str or a tuple of str", line)
            }
            let sc = Array(s.unicodeScalars)
            return .bool(
                candidates.contains { p in
                    let pc = Array(p.unicodeScalars)
                    guard pc.count <= sc.count else { return false }
                    return name == "startswith" ? Array(sc.prefix(pc.count)) == pc : Array(sc.suffix(pc.count)) == pc
                })
        case "split":
            let sep = try strArg(args.first, "separator", line: line)
            let maxsplit = args.count > 1 ? (args[1].asInt ?? -1) : -1
            return .list(try pySplit(s, sep: sep, maxsplit: maxsplit, budget: budget, line: line).map { .string($0) })
        case "upper": return .string(s.uppercased())
        case "lower": return .string(s.lowercased())
        case "title": return .string(pyTitle(s))
        case "capitalize": return .string(capitalize(s))
        case "replace":
            guard args.count >= 2, case .string(let a) = args[0], case .string(let b) = args[1] else {
                throw runtime("replace() arguments must be str", line)
            }
            return .string(try replace(s, a, b, count: args.count > 2 ? (args[2].asInt ?? -1) : -1, budget: budget, line: line))
        default:
            throw unsupported("method '\(name)'", line)
        }
    }
}

func pyStrip(_ s: String, chars: String?, left: Bool, right: Bool) -> String {
    let set = chars.map { Set($0.unicodeScalars) }
    func strip(_ c: Unicode.Scalar) -> Bool { set.map { $0.contains(c) } ?? isPyWhitespace(c) }
    var sc = Array(s.unicodeScalars)[...]
    if left { while let f = sc.first, strip(f) { sc = sc.dropFirst() } }
    if right { while let l = sc.last, strip(l) { sc = sc.dropLast() } }
    var out = String.UnicodeScalarView()
    out.append(contentsOf: sc)
    return String(out)
}

func pySplit(_ s: String, sep: String?, maxsplit: Int, budget: RenderBudget, line: Int) throws -> [String] {
    let sc = Array(s.unicodeScalars)
    func str(_ x: ArraySlice<Unicode.Scalar>) -> String { var o = String.UnicodeScalarView(); o.append(contentsOf: x); return String(o) }
    var out: [String] = []
    if let sep {
        let p = Array(sep.unicodeScalars)
        if p.isEmpty { throw ChatTemplateError(kind: .runtime, message: "empty separator", line: line) }
        var start = 0, i = 0
        while i + p.count <= sc.count {
            try budget.step(cost: p.count, line: line)
            if (maxsplit < 0 || out.count < maxsplit) && sc[i..<(i + p.count)].elementsEqual(p) {
                out.append(str(sc[start..<i])); i += p.count; start = i
            } else {
                i += 1
            }
        }
        out.append(str(sc[start...]))
        return out
    }
    var i = 0
    while i < sc.count {
        while i < sc.count && isPyWhitespace(sc[i]) { i += 1 }
        if i >= sc.count { break }
        if maxsplit >= 0 && out.count >= maxsplit {
            var j = sc.count
            while j > i && isPyWhitespace(sc[j - 1]) { j -= 1 }
            out.append(str(sc[i..<j])); break
        }
        let st = i
        while i < sc.count && !isPyWhitespace(sc[i]) { i += 1 }
        out.append(str(sc[st..<i]))
    }
    return out
}

func isCased(_ c: Unicode.Scalar) -> Bool {
    c.properties.isUppercase || c.properties.isLowercase || c.properties.generalCategory == .titlecaseLetter
}

/// Python `str.title()`.
func pyTitle(_ s: String) -> String {
    var out = ""
    var prevCased = false
    for c in s.unicodeScalars {
        if isCased(c) {
            out += prevCased ? String(c).lowercased() : String(c).uppercased()
            prevCased = true
        } else {
            out.unicodeScalars.append(c)
            prevCased = false
        }
    }
    return out
}

/// Python `str.capitalize()`.
func capitalize(_ s: String) -> String {
    guard let f = s.unicodeScalars.first else { return s }
    return String(f).uppercased() + String(s.unicodeScalars.dropFirst()).lowercased()
}

/// Python `str.replace`, within the per-string limit: the result is checked as it grows, since
/// replacing "" (between every character) or a short pattern by a long one multiplies the size.
func replace(_ s: String, _ a: String, _ b: String, count: Int, budget: RenderBudget, line: Int) throws -> String {
    let sc = Array(s.unicodeScalars), p = Array(a.unicodeScalars)
    var out = String.UnicodeScalarView()
    var n = 0, i = 0
    let (sBytes, aBytes, bBytes) = (s.utf8.count, a.utf8.count, b.utf8.count)
    let maxReplacements = p.isEmpty ? sc.count + 1 : sc.count / p.count
    let limit = count < 0 ? maxReplacements : min(count, maxReplacements)
    if bBytes > aBytes {
        let (growth, o1) = (bBytes - aBytes).multipliedReportingOverflow(by: limit)
        let (bytes, o2) = sBytes.addingReportingOverflow(growth)
        // An upper bound (every possible match replaced); checked exactly below when it is over.
        if o1 || o2 || bytes > budget.limits.maxStringBytes {
            let actual = p.isEmpty ? limit : try countMatches(sc, p, upTo: limit, budget: budget, line: line)
            try budget.checkString(bytes: sBytes + (bBytes - aBytes) * actual, "replace()", line: line)
        }
    }
    if p.isEmpty {
        // Python inserts `b` between every character (and at both ends).
        for c in sc { if count < 0 || n < count { out.append(contentsOf: b.unicodeScalars); n += 1 }; out.append(c) }
        if count < 0 || n < count { out.append(contentsOf: b.unicodeScalars) }
        return String(out)
    }
    while i < sc.count {
        try budget.step(cost: p.count, line: line)
        if (count < 0 || n < count) && i + p.count <= sc.count && sc[i..<(i + p.count)].elementsEqual(p) {
            out.append(contentsOf: b.unicodeScalars); i += p.count; n += 1
        } else {
            out.append(sc[i]); i += 1
        }
    }
    return String(out)
}

/// Non-overlapping matches of `p` in `sc`, left to right, at most `upTo`.
func countMatches(_ sc: [Unicode.Scalar], _ p: [Unicode.Scalar], upTo: Int, budget: RenderBudget, line: Int) throws -> Int {
    var n = 0, i = 0
    while n < upTo && i + p.count <= sc.count {
        try budget.step(cost: p.count, line: line)
        if sc[i..<(i + p.count)].elementsEqual(p) { n += 1; i += p.count } else { i += 1 }
    }
    return n
}
