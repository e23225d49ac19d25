/// AST and recursive-descent parser following Jinja2's grammar and operator precedence.

indirect enum Expr: Sendable {
    case literal(Literal)
    case name(String, line: Int)
    case list([Expr])
    case dict([(Expr, Expr)])
    case attr(Expr, String, line: Int)
    case `subscript`(Expr, Expr, line: Int)
    case slice(Expr, Expr?, Expr?, Expr?, line: Int)
    case call(Expr, [Expr], [(String, Expr)], line: Int)
    case filter(Expr, String, [Expr], [(String, Expr)], line: Int)
    case test(Expr, String, [Expr], negated: Bool, line: Int)
    case binary(String, Expr, Expr, line: Int)
    case unary(String, Expr, line: Int)
    case cond(Expr, Expr, Expr?)  // then, condition, else
}

enum Literal: Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
}

indirect enum Stmt: Sendable {
    case text(String)
    case output(Expr, line: Int)
    case ifs([(Expr, [Stmt])], [Stmt], line: Int)
    case forLoop(targets: [String], iter: Expr, filter: Expr?, body: [Stmt], otherwise: [Stmt], line: Int)
    case set(name: String, attr: String?, Expr, line: Int)
    case setBlock(name: String, body: [Stmt], line: Int)
}

struct Parser {
    var tokens: [Token]
    var i = 0
    /// Nesting of tags and sub-expressions being parsed now; never above `maxDepth`.
    var depth = 0
    let maxDepth: Int

    init(tokens: [Token], maxDepth: Int = RenderLimits.standard.maxNestingDepth) {
        self.tokens = tokens
        self.maxDepth = maxDepth
    }

    func tooDeep() -> ChatTemplateError {
        ChatTemplateError(
            kind: .limitExceeded, message: "template nesting exceeds the limit of \(maxDepth) levels", line: line,
            column: current?.column ?? tokens.last?.column)
    }

    /// One level deeper (a tag body or a sub-expression), checked before recursing; pair with
    /// `depth -= 1` in a `defer`.
    mutating func enter() throws {
        if depth >= maxDepth { throw tooDeep() }
        depth += 1
    }

    /// After an operator chain adds a node (`a + b + c`, `x|f|g`, `a.b.c`): the tree below the
    /// current level must stay within the limit too, since evaluating it recurses once per level.
    func checkHeight(_ e: Expr) throws {
        if e.exceedsHeight(maxDepth - depth) { throw tooDeep() }
    }

    var current: Token? { i < tokens.count ? tokens[i] : nil }
    var line: Int { current?.line ?? tokens.last?.line ?? 1 }

    func syntax(_ msg: String, line l: Int? = nil) -> ChatTemplateError {
        ChatTemplateError(kind: .syntax, message: msg, line: l ?? line)
    }

    func describe(_ t: Token?) -> String {
        guard let t else { return "end of template" }
        switch t.kind {
        case .text: return "text"
        case .blockBegin: return "'{%'"
        case .blockEnd: return "'%}'"
        case .varBegin: return "'{{'"
        case .varEnd: return "'}}'"
        case .name(let n): return "'\(n)'"
        case .string(let s): return "string '\(s)'"
        case .int(let v): return "\(v)"
        case .float(let v): return "\(v)"
        case .op(let o): return "'\(o)'"
        }
    }

    func isOp(_ o: String) -> Bool {
        if case .op(o)? = current?.kind { return true }
        return false
    }
    func isName(_ n: String) -> Bool {
        if case .name(n)? = current?.kind { return true }
        return false
    }
    mutating func expectOp(_ o: String) throws {
        guard isOp(o) else { throw syntax("expected '\(o)', got \(describe(current))") }
        i += 1
    }
    mutating func expectName() throws -> String {
        guard case .name(let n)? = current?.kind else { throw syntax("expected a name, got \(describe(current))") }
        i += 1
        return n
    }
    mutating func expectBlockEnd() throws {
        guard case .blockEnd? = current?.kind else { throw syntax("expected '%}', got \(describe(current))") }
        i += 1
    }

    mutating func parseTemplate() throws -> [Stmt] {
        let (body, end) = try parseBody(until: [])
        if let end { throw syntax("unexpected '\(end)'") }
        return body
    }

    /// Parses statements until a block tag whose name is in `until`; returns the body and that
    /// tag name (positioned after the name, before the rest of the tag).
    mutating func parseBody(until: Set<String>) throws -> ([Stmt], String?) {
        var out: [Stmt] = []
        while let t = current {
            switch t.kind {
            case .text(let s):
                out.append(.text(s)); i += 1
            case .varBegin:
                i += 1
                let e = try parseTuple()
                guard case .varEnd? = current?.kind else { throw syntax("expected '}}', got \(describe(current))") }
                i += 1
                out.append(.output(e, line: t.line))
            case .blockBegin:
                i += 1
                let tagLine = line
                let tag = try expectName()
                if until.contains(tag) { return (out, tag) }
                out.append(try parseTag(tag, line: tagLine))
            default:
                throw syntax("unexpected \(describe(t))")
            }
        }
        if !until.isEmpty {
            throw syntax("unexpected end of template, expected one of \(until.sorted().map { "'\($0)'" }.joined(separator: ", "))")
        }
        return (out, nil)
    }

    mutating func parseTag(_ tag: String, line tagLine: Int) throws -> Stmt {
        try enter()
        defer { depth -= 1 }
        switch tag {
        case "if":
            var branches: [(Expr, [Stmt])] = []
            var cond = try parseTuple()
            try expectBlockEnd()
            while true {
                let (body, end) = try parseBody(until: ["elif", "else", "endif"])
                branches.append((cond, body))
                if end == "elif" {
                    cond = try parseTuple()
                    try expectBlockEnd()
                } else if end == "else" {
                    try expectBlockEnd()
                    let (elseBody, _) = try parseBody(until: ["endif"])
                    try expectBlockEnd()
                    return .ifs(branches, elseBody, line: tagLine)
                } else {
                    try expectBlockEnd()
                    return .ifs(branches, [], line: tagLine)
                }
            }
        case "for":
            var targets = [try expectName()]
            while isOp(",") { i += 1; targets.append(try expectName()) }
            guard isName("in") else { throw syntax("expected 'in' in for loop, got \(describe(current))") }
            i += 1
            let iter = try parseTuple(withCondExpr: false)
            var filter: Expr? = nil
            if isName("if") { i += 1; filter = try parseTuple() }
            if isName("recursive") { throw ChatTemplateError(kind: .unsupported, message: "unsupported recursive for loop", line: tagLine) }
            try expectBlockEnd()
            let (body, end) = try parseBody(until: ["else", "endfor"])
            try expectBlockEnd()
            var otherwise: [Stmt] = []
            if end == "else" {
                (otherwise, _) = try parseBody(until: ["endfor"])
                try expectBlockEnd()
            }
            return .forLoop(targets: targets, iter: iter, filter: filter, body: body, otherwise: otherwise, line: tagLine)
        case "set":
            let name = try expectName()
            var attr: String? = nil
            if isOp(".") { i += 1; attr = try expectName() }
            if isOp(",") { throw ChatTemplateError(kind: .unsupported, message: "unsupported tuple assignment in 'set'", line: tagLine) }
            if isOp("=") {
                i += 1
                let e = try parseTuple()
                try expectBlockEnd()
                return .set(name: name, attr: attr, e, line: tagLine)
            }
            guard attr == nil else { throw syntax("expected '=' in set") }
            if isOp("|") { throw ChatTemplateError(kind: .unsupported, message: "unsupported filtered block 'set'", line: tagLine) }
            try expectBlockEnd()
            let (body, _) = try parseBody(until: ["endset"])
            try expectBlockEnd()
            return .setBlock(name: name, body: body, line: tagLine)
        case "elif", "else", "endif", "endfor", "endset":
            throw syntax("unexpected '\(tag)'", line: tagLine)
        default:
            throw ChatTemplateError(kind: .unsupported, message: "unsupported tag '\(tag)'", line: tagLine)
        }
    }

    // MARK: Expressions

    /// An expression, or a bare tuple `a, b` (evaluated as a list).
    mutating func parseTuple(withCondExpr: Bool = true) throws -> Expr {
        let first = withCondExpr ? try parseExpression() : try parseOr()
        guard isOp(",") else { return first }
        var items = [first]
        while isOp(",") {
            i += 1
            if atExprEnd { break }
            items.append(withCondExpr ? try parseExpression() : try parseOr())
        }
        return .list(items)
    }

    var atExprEnd: Bool {
        switch current?.kind {
        case .blockEnd?, .varEnd?, nil: return true
        case .op(let o)?: return o == ")" || o == "]" || o == "}"
        default: return false
        }
    }

    mutating func parseExpression() throws -> Expr {
        let e = try parseOr()
        if isName("if") {
            i += 1
            let cond = try parseOr()
            var other: Expr? = nil
            if isName("else") {
                i += 1
                try enter()
                defer { depth -= 1 }
                other = try parseExpression()
            }
            let node = Expr.cond(e, cond, other)
            try checkHeight(node)
            return node
        }
        return e
    }

    mutating func parseOr() throws -> Expr {
        var l = try parseAnd()
        while isName("or") { let ln = line; i += 1; l = .binary("or", l, try parseAnd(), line: ln); try checkHeight(l) }
        return l
    }
    mutating func parseAnd() throws -> Expr {
        var l = try parseNot()
        while isName("and") { let ln = line; i += 1; l = .binary("and", l, try parseNot(), line: ln); try checkHeight(l) }
        return l
    }
    mutating func parseNot() throws -> Expr {
        if isName("not") {
            let ln = line
            i += 1
            try enter()
            defer { depth -= 1 }
            return .unary("not", try parseNot(), line: ln)
        }
        return try parseCompare()
    }
    mutating func parseCompare() throws -> Expr {
        var l = try parseMath1()
        var result: Expr? = nil
        while true {
            let ln = line
            var op: String? = nil
            if case .op(let o)? = current?.kind, ["==", "!=", "<", "<=", ">", ">="].contains(o) {
                op = o; i += 1
            } else if isName("in") {
                op = "in"; i += 1
            } else if isName("not"), i + 1 < tokens.count, case .name("in") = tokens[i + 1].kind {
                op = "not in"; i += 2
            }
            guard let op else { break }
            let r = try parseMath1()
            let cmp = Expr.binary(op, l, r, line: ln)
            result = result.map { .binary("and", $0, cmp, line: ln) } ?? cmp
            if let result { try checkHeight(result) }
            l = r
        }
        return result ?? l
    }
    mutating func parseMath1() throws -> Expr {
        var l = try parseConcat()
        while case .op(let o)? = current?.kind, o == "+" || o == "-" {
            let ln = line; i += 1
            l = .binary(o, l, try parseConcat(), line: ln)
            try checkHeight(l)
        }
        return l
    }
    mutating func parseConcat() throws -> Expr {
        var l = try parseMath2()
        while isOp("~") { let ln = line; i += 1; l = .binary("~", l, try parseMath2(), line: ln); try checkHeight(l) }
        return l
    }
    mutating func parseMath2() throws -> Expr {
        var l = try parsePow()
        while case .op(let o)? = current?.kind, ["*", "/", "//", "%"].contains(o) {
            let ln = line; i += 1
            l = .binary(o, l, try parsePow(), line: ln)
            try checkHeight(l)
        }
        return l
    }
    mutating func parsePow() throws -> Expr {
        var l = try parseUnary()
        while isOp("**") { let ln = line; i += 1; l = .binary("**", l, try parseUnary(), line: ln); try checkHeight(l) }
        return l
    }
    mutating func parseUnary(withFilter: Bool = true) throws -> Expr {
        var node: Expr
        let ln = line
        if isOp("-") || isOp("+") {
            let sign = isOp("-") ? "-" : "+"
            i += 1
            try enter()
            defer { depth -= 1 }
            node = .unary(sign, try parseUnary(withFilter: false), line: ln)
        } else {
            node = try parsePrimary()
        }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpr(node) }
        return node
    }

    mutating func parsePrimary() throws -> Expr {
        guard let t = current else { throw syntax("unexpected end of template in expression") }
        let opensGroup = [TokenKind.op("("), .op("["), .op("{")].contains(t.kind)
        if opensGroup { try enter() }
        defer { if opensGroup { depth -= 1 } }
        switch t.kind {
        case .name(let n):
            i += 1
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n, line: t.line)
            }
        case .string(var s):
            i += 1
            while case .string(let more)? = current?.kind { s += more; i += 1 }
            return .literal(.string(s))
        case .int(let v): i += 1; return .literal(.int(v))
        case .float(let v): i += 1; return .literal(.float(v))
        case .op("("):
            i += 1
            if isOp(")") { i += 1; return .list([]) }
            let e = try parseTuple()
            try expectOp(")")
            return e
        case .op("["):
            i += 1
            var items: [Expr] = []
            while !isOp("]") {
                items.append(try parseExpression())
                if isOp(",") { i += 1 } else { break }
            }
            try expectOp("]")
            return .list(items)
        case .op("{"):
            i += 1
            var items: [(Expr, Expr)] = []
            while !isOp("}") {
                let k = try parseExpression()
                try expectOp(":")
                items.append((k, try parseExpression()))
                if isOp(",") { i += 1 } else { break }
            }
            try expectOp("}")
            return .dict(items)
        default:
            throw syntax("unexpected \(describe(t)) in expression")
        }
    }

    mutating func parsePostfix(_ node: Expr) throws -> Expr {
        var node = node
        while true {
            let ln = line
            if isOp(".") {
                i += 1
                guard let t = current else { throw syntax("expected attribute name") }
                switch t.kind {
                case .name(let n): i += 1; node = .attr(node, n, line: ln)
                case .int(let v): i += 1; node = .`subscript`(node, .literal(.int(v)), line: ln)
                default: throw syntax("expected attribute name, got \(describe(t))")
                }
            } else if isOp("[") {
                i += 1
                node = try parseSubscript(node, line: ln)
            } else if isOp("(") {
                node = try parseCall(node)
            } else {
                return node
            }
            try checkHeight(node)
        }
    }

    mutating func parseSubscript(_ node: Expr, line ln: Int) throws -> Expr {
        try enter()
        defer { depth -= 1 }
        var parts: [Expr?] = []
        var cur: Expr? = nil
        var isSlice = false
        while !isOp("]") {
            if isOp(":") {
                isSlice = true
                parts.append(cur); cur = nil; i += 1
            } else {
                if cur != nil { throw syntax("expected ']' or ':', got \(describe(current))") }
                cur = try parseExpression()
            }
        }
        i += 1
        if !isSlice {
            guard let cur else { throw syntax("empty subscript") }
            return .`subscript`(node, cur, line: ln)
        }
        parts.append(cur)
        if parts.count > 3 { throw syntax("too many ':' in slice") }
        while parts.count < 3 { parts.append(nil) }
        return .slice(node, parts[0], parts[1], parts[2], line: ln)
    }

    mutating func parseArgs() throws -> ([Expr], [(String, Expr)]) {
        try enter()
        defer { depth -= 1 }
        try expectOp("(")
        var args: [Expr] = []
        var kwargs: [(String, Expr)] = []
        while !isOp(")") {
            if case .name(let n)? = current?.kind, i + 1 < tokens.count, case .op("=") = tokens[i + 1].kind {
                i += 2
                kwargs.append((n, try parseExpression()))
            } else {
                if !kwargs.isEmpty { throw syntax("positional argument after keyword argument") }
                args.append(try parseExpression())
            }
            if isOp(",") { i += 1 } else { break }
        }
        try expectOp(")")
        return (args, kwargs)
    }

    mutating func parseCall(_ node: Expr) throws -> Expr {
        let ln = line
        let (a, k) = try parseArgs()
        return .call(node, a, k, line: ln)
    }

    mutating func parseFilterExpr(_ node: Expr) throws -> Expr {
        var node = node
        while true {
            let ln = line
            if isOp("|") {
                i += 1
                let name = try expectName()
                var args: [Expr] = [], kwargs: [(String, Expr)] = []
                if isOp("(") { (args, kwargs) = try parseArgs() }
                node = .filter(node, name, args, kwargs, line: ln)
            } else if isName("is") {
                i += 1
                var negated = false
                if isName("not") { negated = true; i += 1 }
                let name = try expectName()
                var args: [Expr] = []
                if isOp("(") {
                    let (a, k) = try parseArgs()
                    if !k.isEmpty {
                        throw ChatTemplateError(kind: .unsupported, message: "unsupported keyword arguments for test '\(name)'", line: ln)
                    }
                    args = a
                } else if let t = current {
                    var startsArg = false
                    switch t.kind {
                    case .name(let n): startsArg = !["else", "or", "and"].contains(n)
                    case .string, .int, .float: startsArg = true
                    case .op(let o): startsArg = o == "[" || o == "{"
                    default: break
                    }
                    if startsArg { args = [try parsePostfix(try parsePrimary())] }
                }
                node = .test(node, name, args, negated: negated, line: ln)
            } else if isOp("(") {
                node = try parseCall(node)
            } else {
                return node
            }
            try checkHeight(node)
        }
    }
}

extension Expr {
    /// Whether this tree is more than `limit` levels deep; looks no deeper than `limit + 1` levels,
    /// so it is safe on any tree.
    func exceedsHeight(_ limit: Int) -> Bool {
        if limit < 1 { return true }
        let below = limit - 1
        func deep(_ e: Expr?) -> Bool { e?.exceedsHeight(below) ?? false }
        switch self {
        case .literal, .name: return false
        case .list(let items): return items.contains { $0.exceedsHeight(below) }
        case .dict(let items): return items.contains { $0.0.exceedsHeight(below) || $0.1.exceedsHeight(below) }
        case .attr(let b, _, _): return deep(b)
        case .`subscript`(let b, let x, _): return deep(b) || deep(x)
        case .slice(let b, let x, let y, let z, _): return deep(b) || deep(x) || deep(y) || deep(z)
        case .call(let f, let args, let kwargs, _), .filter(let f, _, let args, let kwargs, _):
            return deep(f) || args.contains { $0.exceedsHeight(below) } || kwargs.contains { $0.1.exceedsHeight(below) }
        case .test(let b, _, let args, _, _): return deep(b) || args.contains { $0.exceedsHeight(below) }
        case .binary(_, let l, let r, _): return deep(l) || deep(r)
        case .unary(_, let x, _): return deep(x)
        case .cond(let a, let b, let c): return deep(a) || deep(b) || deep(c)
        }
    }
}

extension Expr {
    /// The template line of this node, where the parser recorded one.
    var line: Int? {
        switch self {
        case .literal, .list, .dict, .cond: return nil
        case .name(_, let line), .attr(_, _, let line), .`subscript`(_, _, let line), .slice(_, _, _, _, let line),
            .call(_, _, _, let line), .filter(_, _, _, _, let line), .test(_, _, _, _, let line), .binary(_, _, _, let line),
            .unary(_, _, let line):
            return line
        }
    }
}

extension Stmt {
    var line: Int? {
        switch self {
        case .text: return nil
        case .output(_, let line), .ifs(_, _, let line), .forLoop(_, _, _, _, _, let line), .set(_, _, _, let line),
            .setBlock(_, _, let line):
            return line
        }
    }
}
