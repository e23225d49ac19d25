import Columns

/// A recursive-descent parser for Atelier's SQL (DuckDB's dialect, the subset docs/SQL.md lists).
/// Each function parses one grammar rule; errors name what was expected and point at the token.
public struct SQLParser {
    private var tokens: [Token]
    private var position = 0
    private var depth = 0
    private static let maximumDepth = 200

    /// Every statement of `text` (separated by semicolons).
    public static func parse(_ text: String) throws(SQLError) -> [Statement] {
        var parser = SQLParser(tokens: try Lexer.tokenize(text))
        var statements: [Statement] = []
        while true {
            while parser.accept(symbol: ";") {}
            if case .end = parser.current.kind { break }
            statements.append(try parser.statement())
            if case .end = parser.current.kind { break }
            guard parser.accept(symbol: ";") else {
                throw parser.unexpected("; or end of query")
            }
        }
        return statements
    }

    private init(tokens: [Token]) { self.tokens = tokens }

    // MARK: tokens

    private var current: Token { tokens[position] }
    private func peek(_ offset: Int = 1) -> Token { tokens[min(position + offset, tokens.count - 1)] }

    private mutating func advance() -> Token {
        let token = tokens[position]
        if position < tokens.count - 1 { position += 1 }
        return token
    }

    private func isKeyword(_ word: String) -> Bool { current.kind == .keyword(word) }
    private func isSymbol(_ symbol: String) -> Bool { current.kind == .symbol(symbol) }

    private mutating func accept(keyword: String) -> Bool {
        guard isKeyword(keyword) else { return false }
        _ = advance()
        return true
    }

    private mutating func accept(symbol: String) -> Bool {
        guard isSymbol(symbol) else { return false }
        _ = advance()
        return true
    }

    private mutating func expect(keyword: String) throws(SQLError) {
        guard accept(keyword: keyword) else { throw unexpected(keyword) }
    }

    private mutating func expect(symbol: String) throws(SQLError) {
        guard accept(symbol: symbol) else { throw unexpected("\"\(symbol)\"") }
    }

    private func unexpected(_ expected: String) -> SQLError {
        let found: String
        switch current.kind {
        case .end: found = "end of query"
        case .string(let text): found = "'\(text)'"
        default: found = "\"\(current.text)\""
        }
        return SQLError("expected \(expected) but found \(found)", at: current.range)
    }

    private mutating func identifier(_ what: String) throws(SQLError) -> String {
        switch current.kind {
        case .identifier(let name), .quotedIdentifier(let name):
            _ = advance()
            return name
        // Non-reserved keywords usable as names (a column called "date", a table "first").
        case .keyword(let word) where ["DATE", "TIMESTAMP", "FIRST", "LAST", "SEMI", "ANTI", "TABLE"].contains(word):
            _ = advance()
            return word.lowercased()
        default: throw unexpected(what)
        }
    }

    private mutating func nest() throws(SQLError) {
        depth += 1
        guard depth <= SQLParser.maximumDepth else {
            throw SQLError("the query nests deeper than \(SQLParser.maximumDepth) levels", at: current.range)
        }
    }

    // MARK: statements

    private mutating func statement() throws(SQLError) -> Statement {
        if accept(keyword: "EXPLAIN") { return .explain(try statement()) }
        if accept(keyword: "COPY") {
            try expect(symbol: "(")
            let inner = try query()
            try expect(symbol: ")")
            try expect(keyword: "TO")
            guard case .string(let path) = current.kind else { throw unexpected("a file name in quotes") }
            _ = advance()
            var options: [String: SyntaxExpression] = [:]
            if accept(symbol: "(") {
                repeat {
                    let name = try identifier("an option name (FORMAT, HEADER, DELIMITER)").lowercased()
                    if case .symbol(")") = current.kind { break }
                    if case .symbol(",") = current.kind {
                        options[name] = SyntaxExpression(.literal(.boolean(true)), current.range)
                        continue
                    }
                    let start = current.range
                    if case .identifier(let word) = current.kind {
                        _ = advance()
                        options[name] = SyntaxExpression(.literal(.string(word)), start)
                    } else {
                        options[name] = try expression()
                    }
                } while accept(symbol: ",")
                try expect(symbol: ")")
            }
            return .copy(inner, path: path, options: options)
        }
        if accept(keyword: "CREATE") {
            try expect(keyword: "TABLE")
            let name = try identifier("a table name")
            try expect(keyword: "AS")
            return .createTableAs(name: name, try query())
        }
        guard isKeyword("SELECT") || isKeyword("WITH") || isSymbol("(") else {
            throw unexpected("SELECT, WITH, EXPLAIN, COPY or CREATE TABLE")
        }
        return .query(try query())
    }

    private mutating func query() throws(SQLError) -> Query {
        try nest()
        defer { depth -= 1 }
        var with: [CommonTableExpression] = []
        if accept(keyword: "WITH") {
            repeat {
                let start = current.range
                let name = try identifier("a name for the WITH query")
                var columns: [String] = []
                if accept(symbol: "(") {
                    repeat { columns.append(try identifier("a column name")) } while accept(symbol: ",")
                    try expect(symbol: ")")
                }
                try expect(keyword: "AS")
                try expect(symbol: "(")
                let inner = try query()
                try expect(symbol: ")")
                with.append(CommonTableExpression(name: name, columns: columns, query: inner, range: start))
            } while accept(symbol: ",")
        }
        var body = try queryTerm()
        while accept(keyword: "UNION") {
            let all = accept(keyword: "ALL")
            body = .union(body, try queryTerm(), all: all)
        }
        var result = Query(with: with, body: body)
        if accept(keyword: "ORDER") {
            try expect(keyword: "BY")
            result.orderBy = try orderItems()
        }
        while true {
            if accept(keyword: "LIMIT") {
                result.limit = try expression()
            } else if accept(keyword: "OFFSET") {
                result.offset = try expression()
            } else {
                break
            }
        }
        return result
    }

    private mutating func queryTerm() throws(SQLError) -> QueryBody {
        if isSymbol("(") {
            _ = advance()
            let inner = try query()
            try expect(symbol: ")")
            return .nested(inner)
        }
        return .select(try selectCore())
    }

    private mutating func orderItems() throws(SQLError) -> [OrderItem] {
        var items: [OrderItem] = []
        repeat {
            let value = try expression()
            var descending = false
            if accept(keyword: "DESC") { descending = true } else { _ = accept(keyword: "ASC") }
            var nullsFirst: Bool?
            if accept(keyword: "NULLS") {
                if accept(keyword: "FIRST") {
                    nullsFirst = true
                } else if accept(keyword: "LAST") {
                    nullsFirst = false
                } else {
                    throw unexpected("FIRST or LAST")
                }
            }
            items.append(OrderItem(expression: value, descending: descending, nullsFirst: nullsFirst))
        } while accept(symbol: ",")
        return items
    }

    private mutating func selectCore() throws(SQLError) -> SelectCore {
        try expect(keyword: "SELECT")
        var core = SelectCore()
        core.distinct = accept(keyword: "DISTINCT")
        if !core.distinct { _ = accept(keyword: "ALL") }
        repeat {
            if isSymbol("*") {
                core.items.append(.all(qualifier: nil, range: advance().range))
                continue
            }
            if case .identifier(let name) = current.kind, peek().kind == .symbol("."), peek(2).kind == .symbol("*") {
                let range = current.range
                position += 3
                core.items.append(.all(qualifier: name, range: range))
                continue
            }
            let value = try expression()
            var alias: String?
            if accept(keyword: "AS") {
                alias = try identifier("an alias")
            } else if case .identifier(let name) = current.kind {
                alias = name
                _ = advance()
            } else if case .quotedIdentifier(let name) = current.kind {
                alias = name
                _ = advance()
            }
            core.items.append(.expression(value, alias: alias))
        } while accept(symbol: ",")
        if accept(keyword: "FROM") {
            repeat { core.from.append(try joinedTable()) } while accept(symbol: ",")
        }
        if accept(keyword: "WHERE") { core.filter = try expression() }
        if accept(keyword: "GROUP") {
            try expect(keyword: "BY")
            if accept(keyword: "ALL") {
                core.groupByAll = true
            } else {
                repeat { core.groupBy.append(try expression()) } while accept(symbol: ",")
            }
        }
        if accept(keyword: "HAVING") { core.having = try expression() }
        guard
            isKeyword("ORDER") || isKeyword("LIMIT") || isKeyword("OFFSET") || isKeyword("UNION") || isSymbol(")") || isSymbol(";")
                || current.kind == .end
        else {
            throw unexpected(
                core.from.isEmpty
                    ? "FROM, WHERE, GROUP BY, ORDER BY, LIMIT or end of query"
                    : "WHERE, GROUP BY, HAVING, ORDER BY, LIMIT, UNION or end of query")
        }
        return core
    }

    // MARK: FROM

    private mutating func joinedTable() throws(SQLError) -> TableReference {
        var left = try tablePrimary()
        while true {
            let start = current.range
            var kind: JoinSyntax?
            if accept(keyword: "JOIN") {
                kind = .inner
            } else if accept(keyword: "INNER") {
                kind = .inner
            } else if accept(keyword: "LEFT") {
                kind = .left
            } else if accept(keyword: "RIGHT") {
                kind = .right
            } else if accept(keyword: "FULL") {
                kind = .full
            } else if accept(keyword: "CROSS") {
                kind = .cross
            } else if accept(keyword: "SEMI") {
                kind = .semi
            } else if accept(keyword: "ANTI") {
                kind = .anti
            }
            guard let kind else { return left }
            if kind != .inner || !isKeyword("JOIN") {
                if kind == .left || kind == .right || kind == .full { _ = accept(keyword: "OUTER") }
            }
            if tokens[position - 1].kind != .keyword("JOIN") { try expect(keyword: "JOIN") }
            let right = try tablePrimary()
            var condition: JoinCondition?
            if kind != .cross {
                if accept(keyword: "ON") {
                    condition = .on(try expression())
                } else if accept(keyword: "USING") {
                    let range = current.range
                    try expect(symbol: "(")
                    var names: [String] = []
                    repeat { names.append(try identifier("a column name")) } while accept(symbol: ",")
                    try expect(symbol: ")")
                    condition = .using(names, range)
                } else {
                    throw unexpected("ON or USING")
                }
            }
            left = .join(left, right, kind: kind, condition: condition, range: start)
        }
    }

    private mutating func tablePrimary() throws(SQLError) -> TableReference {
        let start = current.range
        if accept(symbol: "(") {
            let inner = try query()
            try expect(symbol: ")")
            return .subquery(inner, alias: try tableAlias(), range: start)
        }
        if case .string(let path) = current.kind {
            _ = advance()
            return .file(path: path, alias: try tableAlias(), range: start)
        }
        let name = try identifier("a table name, a file name in quotes, read_csv(…) or (SELECT …)")
        if accept(symbol: "(") {
            var arguments: [SyntaxExpression] = []
            var named: [String: SyntaxExpression] = [:]
            if !isSymbol(")") {
                repeat {
                    if case .identifier(let key) = current.kind, peek().kind == .symbol("=") {
                        position += 2
                        named[key.lowercased()] = try expression()
                    } else {
                        arguments.append(try expression())
                    }
                } while accept(symbol: ",")
            }
            try expect(symbol: ")")
            return .function(name: name.lowercased(), arguments: arguments, named: named, alias: try tableAlias(), range: start)
        }
        var qualified = name
        while accept(symbol: ".") { qualified += "." + (try identifier("a name after \".\"")) }
        return .table(name: qualified, alias: try tableAlias(), range: start)
    }

    private mutating func tableAlias() throws(SQLError) -> TableAlias? {
        var name: String?
        if accept(keyword: "AS") {
            name = try identifier("an alias")
        } else if case .identifier(let word) = current.kind {
            name = word
            _ = advance()
        } else if case .quotedIdentifier(let word) = current.kind {
            name = word
            _ = advance()
        }
        guard let name else { return nil }
        var columns: [String] = []
        if isSymbol("("), case .identifier = peek().kind {
            _ = advance()
            repeat { columns.append(try identifier("a column alias")) } while accept(symbol: ",")
            try expect(symbol: ")")
        }
        return TableAlias(name: name, columns: columns)
    }

    // MARK: expressions (lowest precedence first)

    private mutating func expression() throws(SQLError) -> SyntaxExpression {
        try nest()
        defer { depth -= 1 }
        return try disjunction()
    }

    private func span(_ start: SourceRange) -> SourceRange {
        let end = tokens[max(0, position - 1)].range
        return SourceRange(offset: start.offset, length: max(start.length, end.offset + end.length - start.offset))
    }

    private mutating func disjunction() throws(SQLError) -> SyntaxExpression {
        var left = try conjunction()
        while isKeyword("OR") {
            _ = advance()
            let right = try conjunction()
            left = SyntaxExpression(.binary("OR", left, right), span(left.range))
        }
        return left
    }

    private mutating func conjunction() throws(SQLError) -> SyntaxExpression {
        var left = try negation()
        while isKeyword("AND") {
            _ = advance()
            let right = try negation()
            left = SyntaxExpression(.binary("AND", left, right), span(left.range))
        }
        return left
    }

    private mutating func negation() throws(SQLError) -> SyntaxExpression {
        let start = current.range
        if isKeyword("NOT") {
            _ = advance()
            try nest()
            defer { depth -= 1 }
            let operand = try negation()
            return SyntaxExpression(.unary("NOT", operand), span(start))
        }
        return try comparison()
    }

    private mutating func comparison() throws(SQLError) -> SyntaxExpression {
        let left = try concatenation()
        let start = left.range
        if case .symbol(let op) = current.kind, ["=", "<>", "!=", "<", "<=", ">", ">="].contains(op) {
            _ = advance()
            let right = try concatenation()
            return SyntaxExpression(.binary(op == "!=" ? "<>" : op, left, right), span(start))
        }
        if accept(keyword: "IS") {
            let negated = accept(keyword: "NOT")
            if accept(keyword: "NULL") { return SyntaxExpression(.isNull(left, negated: negated), span(start)) }
            if accept(keyword: "DISTINCT") {
                try expect(keyword: "FROM")
                let right = try concatenation()
                return SyntaxExpression(.isDistinct(left, right, negated: negated), span(start))
            }
            throw unexpected("NULL or DISTINCT FROM after IS")
        }
        let negated = accept(keyword: "NOT")
        if accept(keyword: "IN") {
            try expect(symbol: "(")
            if isKeyword("SELECT") || isKeyword("WITH") {
                let inner = try query()
                try expect(symbol: ")")
                return SyntaxExpression(.inQuery(left, inner, negated: negated), span(start))
            }
            var items: [SyntaxExpression] = []
            repeat { items.append(try expression()) } while accept(symbol: ",")
            try expect(symbol: ")")
            return SyntaxExpression(.inList(left, items, negated: negated), span(start))
        }
        if accept(keyword: "BETWEEN") {
            let low = try concatenation()
            try expect(keyword: "AND")
            let high = try concatenation()
            return SyntaxExpression(.between(left, low, high, negated: negated), span(start))
        }
        if isKeyword("LIKE") || isKeyword("ILIKE") {
            let insensitive = advance().kind == .keyword("ILIKE")
            let pattern = try concatenation()
            return SyntaxExpression(.like(left, pattern, caseInsensitive: insensitive, negated: negated), span(start))
        }
        if negated { throw unexpected("IN, BETWEEN, LIKE or ILIKE after NOT") }
        return left
    }

    private mutating func concatenation() throws(SQLError) -> SyntaxExpression {
        var left = try additive()
        while isSymbol("||") {
            _ = advance()
            let right = try additive()
            left = SyntaxExpression(.binary("||", left, right), span(left.range))
        }
        return left
    }

    private mutating func additive() throws(SQLError) -> SyntaxExpression {
        var left = try multiplicative()
        while case .symbol(let op) = current.kind, op == "+" || op == "-" {
            _ = advance()
            let right = try multiplicative()
            left = SyntaxExpression(.binary(op, left, right), span(left.range))
        }
        return left
    }

    private mutating func multiplicative() throws(SQLError) -> SyntaxExpression {
        var left = try unary()
        while case .symbol(let op) = current.kind, op == "*" || op == "/" || op == "%" {
            _ = advance()
            let right = try unary()
            left = SyntaxExpression(.binary(op, left, right), span(left.range))
        }
        return left
    }

    private mutating func unary() throws(SQLError) -> SyntaxExpression {
        let start = current.range
        if case .symbol(let op) = current.kind, op == "-" || op == "+" {
            _ = advance()
            try nest()
            defer { depth -= 1 }
            let operand = try unary()
            return op == "-" ? SyntaxExpression(.unary("-", operand), span(start)) : operand
        }
        return try postfix()
    }

    private mutating func postfix() throws(SQLError) -> SyntaxExpression {
        var value = try primary()
        while accept(symbol: "::") {
            value = SyntaxExpression(.cast(value, try typeName()), span(value.range))
        }
        return value
    }

    private mutating func typeName() throws(SQLError) -> DataType {
        let token = current
        let word: String
        switch token.kind {
        case .identifier(let name): word = name.uppercased()
        case .keyword(let keyword): word = keyword
        default: throw unexpected("a type name")
        }
        let types: [String: DataType] = [
            "BOOLEAN": .boolean, "BOOL": .boolean, "TINYINT": .int8, "INT1": .int8, "SMALLINT": .int16, "INT2": .int16, "INTEGER": .int32,
            "INT": .int32,
            "INT4": .int32, "BIGINT": .int64, "INT8": .int64, "LONG": .int64, "REAL": .float32, "FLOAT": .float32, "FLOAT4": .float32,
            "DOUBLE": .float64, "FLOAT8": .float64, "VARCHAR": .string, "TEXT": .string, "STRING": .string, "DATE": .date,
            "TIMESTAMP": .timestamp,
            "DATETIME": .timestamp,
        ]
        guard let type = types[word] else {
            throw SQLError(
                "unknown type \(word) (expected BOOLEAN, TINYINT, SMALLINT, INTEGER, BIGINT, REAL, DOUBLE, VARCHAR, DATE or TIMESTAMP)",
                at: token.range)
        }
        _ = advance()
        if word == "DOUBLE", case .identifier(let next) = current.kind, next.uppercased() == "PRECISION" { _ = advance() }
        // VARCHAR(n), DECIMAL-style lengths are accepted and ignored.
        if accept(symbol: "(") {
            while !isSymbol(")") && current.kind != .end { _ = advance() }
            try expect(symbol: ")")
        }
        return type
    }

    private mutating func primary() throws(SQLError) -> SyntaxExpression {
        let token = current
        let start = token.range
        switch token.kind {
        case .integer(let value):
            _ = advance()
            return SyntaxExpression(.literal(.integer(value)), start)
        case .number(let value):
            _ = advance()
            return SyntaxExpression(.literal(.double(value)), start)
        case .string(let text):
            _ = advance()
            return SyntaxExpression(.literal(.string(text)), start)
        case .keyword("TRUE"), .keyword("FALSE"):
            _ = advance()
            return SyntaxExpression(.literal(.boolean(token.kind == .keyword("TRUE"))), start)
        case .keyword("NULL"):
            _ = advance()
            return SyntaxExpression(.literal(.null), start)
        case .keyword("DATE") where isStringNext, .keyword("TIMESTAMP") where isStringNext:
            _ = advance()
            guard case .string(let text) = advance().kind else { throw unexpected("a quoted date") }
            return SyntaxExpression(.typedLiteral(token.kind == .keyword("DATE") ? .date : .timestamp, text), span(start))
        case .keyword("CASE"):
            _ = advance()
            var operand: SyntaxExpression?
            if !isKeyword("WHEN") { operand = try expression() }
            var branches: [(SyntaxExpression, SyntaxExpression)] = []
            while accept(keyword: "WHEN") {
                let condition = try expression()
                try expect(keyword: "THEN")
                branches.append((condition, try expression()))
            }
            guard !branches.isEmpty else { throw unexpected("WHEN") }
            var otherwise: SyntaxExpression?
            if accept(keyword: "ELSE") { otherwise = try expression() }
            try expect(keyword: "END")
            return SyntaxExpression(.caseWhen(operand: operand, branches: branches, otherwise: otherwise), span(start))
        case .keyword("CAST"):
            _ = advance()
            try expect(symbol: "(")
            let value = try expression()
            try expect(keyword: "AS")
            let type = try typeName()
            try expect(symbol: ")")
            return SyntaxExpression(.cast(value, type), span(start))
        case .keyword("EXISTS"):
            let negated = accept(keyword: "NOT")
            _ = advance()
            try expect(symbol: "(")
            let inner = try query()
            try expect(symbol: ")")
            return SyntaxExpression(.exists(inner, negated: negated), span(start))
        case .symbol("("):
            _ = advance()
            if isKeyword("SELECT") || isKeyword("WITH") {
                let inner = try query()
                try expect(symbol: ")")
                return SyntaxExpression(.subquery(inner), span(start))
            }
            let inner = try expression()
            try expect(symbol: ")")
            return SyntaxExpression(inner.node, span(start))
        case .symbol("*"):
            _ = advance()
            return SyntaxExpression(.star, start)
        case .identifier, .quotedIdentifier, .keyword("DATE"), .keyword("TIMESTAMP"), .keyword("FIRST"), .keyword("LAST"), .keyword("LEFT"),
            .keyword("RIGHT"):
            var name: String
            if case .keyword(let word) = token.kind {
                name = word.lowercased()
                _ = advance()
            } else {
                name = try identifier("a name")
            }
            if accept(symbol: "(") {
                let distinct = accept(keyword: "DISTINCT")
                var arguments: [SyntaxExpression] = []
                if !isSymbol(")") {
                    repeat { arguments.append(try expression()) } while accept(symbol: ",")
                }
                try expect(symbol: ")")
                var window: WindowSpecification?
                if accept(keyword: "OVER") {
                    try expect(symbol: "(")
                    var partition: [SyntaxExpression] = []
                    var order: [OrderItem] = []
                    if accept(keyword: "PARTITION") {
                        try expect(keyword: "BY")
                        repeat { partition.append(try expression()) } while accept(symbol: ",")
                    }
                    if accept(keyword: "ORDER") {
                        try expect(keyword: "BY")
                        order = try orderItems()
                    }
                    try expect(symbol: ")")
                    window = WindowSpecification(partitionBy: partition, orderBy: order)
                }
                return SyntaxExpression(.call(name: name, arguments: arguments, distinct: distinct, window: window), span(start))
            }
            if accept(symbol: ".") {
                if accept(symbol: "*") { return SyntaxExpression(.column(qualifier: name, name: "*"), span(start)) }
                let column = try identifier("a column name after \"\(name).\"")
                return SyntaxExpression(.column(qualifier: name, name: column), span(start))
            }
            if case .identifier = token.kind {} else if case .quotedIdentifier = token.kind {} else { name = name.lowercased() }
            return SyntaxExpression(.column(qualifier: nil, name: name), start)
        default:
            throw unexpected("an expression")
        }
    }

    private var isStringNext: Bool { if case .string = peek().kind { return true } else { return false } }
}
