import CSV
import Columns
import DataFrames

/// FROM: tables, files, read_csv(…), subqueries and joins, each as a plan and the scope it adds.
extension Binder {
    func bindFrom(_ references: [TableReference]) throws(SQLError) -> (LogicalPlan, Scope) {
        guard let first = references.first else {
            let empty = Table(schema: Schema([]), batches: [RecordBatch(schema: Schema([]), columns: [], rowCount: 1)])
            return (.values(empty), Scope(columns: []))
        }
        var (plan, scope) = try bindTable(first)
        for reference in references.dropFirst() {
            let (right, rightScope) = try bindTable(reference)
            plan = .join(plan, right, .cross, on: [], residual: nil)
            scope.columns += rightScope.columns
        }
        return (plan, scope)
    }

    func qualified(_ schema: Schema, _ qualifier: String, _ alias: TableAlias?, at range: SourceRange) throws(SQLError) -> Scope {
        var columns = schema.fields.map { Scope.Column(qualifier: alias?.name ?? qualifier, name: $0.name, type: $0.type) }
        if let alias, !alias.columns.isEmpty {
            guard alias.columns.count <= columns.count else {
                throw SQLError("\(alias.name) names \(alias.columns.count) columns but the table has \(columns.count)", at: range)
            }
            for (index, name) in alias.columns.enumerated() { columns[index].name = name }
        }
        return Scope(columns: columns)
    }

    func scan(_ source: any TableSource) -> LogicalPlan { .scan(source, columns: Array(0..<source.schema.count), filter: nil) }

    func bindTable(_ reference: TableReference) throws(SQLError) -> (LogicalPlan, Scope) {
        switch reference {
        case .table(let name, let alias, let range):
            if let (plan, scope) = commonTables[name.lowercased()] {
                let renamed = try qualified(scope.schema, name, alias, at: range)
                return (rename(plan, renamed), renamed)
            }
            if let table = session.tables[name.lowercased()] {
                let scope = try qualified(table.schema, name, alias, at: range)
                return (rename(scan(InMemorySource(table, name: name)), scope), scope)
            }
            // A bare name with a file extension reads that file (FROM data.csv, as DuckDB allows).
            if name.contains(".") {
                return try bindTable(.file(path: name, alias: alias, range: range))
            }
            let known = Array(commonTables.keys) + Array(session.tables.keys)
            let hint =
                NameSuggestion.nearest(to: name, among: known).map { "; did you mean \"\($0)\"?" }
                ?? (known.isEmpty ? "; read a file with FROM 'file.csv'" : "")
            throw SQLError("unknown table \"\(name)\"\(hint)", at: range)
        case .file(let path, let alias, let range):
            let source = try session.file(path, options: CSVReadOptions(), key: path, range: range)
            let scope = try qualified(source.schema, tableName(path), alias, at: range)
            return (rename(scan(source), scope), scope)
        case .function(let name, let arguments, let named, let alias, let range):
            guard name == "read_csv" || name == "read_csv_auto" else {
                throw SQLError("unknown table function \(name)() (read_csv is the one there is)", at: range)
            }
            guard arguments.count == 1, case .literal(.string(let path)) = arguments[0].node else {
                throw SQLError("read_csv expects a file name or glob in quotes as its first argument", at: range)
            }
            var options = CSVReadOptions()
            var key = path
            for (option, value) in named.sorted(by: { $0.key < $1.key }) {
                key += "|\(option)=\(value.node)"
                switch (option, value.node) {
                case ("header", .literal(.boolean(let flag))): options.header = flag
                case ("delim", .literal(.string(let text))), ("sep", .literal(.string(let text))),
                    ("delimiter", .literal(.string(let text))):
                    guard text.utf8.count == 1 else { throw SQLError("read_csv: the delimiter must be one byte", at: value.range) }
                    options.delimiter = text.utf8.first
                case ("nullstr", .literal(.string(let text))), ("na_values", .literal(.string(let text))): options.nullMarkers = [text]
                case ("null_padding", .literal(.boolean(let flag))): options.padMissingFields = flag
                case ("quote", .literal(.string(let text))):
                    guard text.utf8.count == 1 else { throw SQLError("read_csv: the quote must be one byte", at: value.range) }
                    options.quote = text.utf8.first!
                default:
                    throw SQLError("read_csv: unsupported option \(option) (header, delim, quote, nullstr, null_padding)", at: value.range)
                }
            }
            let source = try session.file(path, options: options, key: key, range: range)
            let scope = try qualified(source.schema, tableName(path), alias, at: range)
            return (rename(scan(source), scope), scope)
        case .subquery(let query, let alias, let range):
            let (plan, inner) = try bindQuery(query)
            let scope = try qualified(inner.schema, alias?.name ?? "subquery", alias, at: range)
            return (rename(plan, scope), scope)
        case .join(let left, let right, let kind, let condition, let range):
            let (leftPlan, leftScope) = try bindTable(left)
            let (rightPlan, rightScope) = try bindTable(right)
            let leftWidth = leftScope.columns.count
            var combined = Scope(columns: leftScope.columns + rightScope.columns)
            var keys: [EquiKey] = []
            var residual: [Expression] = []
            switch condition {
            case .using(let names, let usingRange):
                for name in names {
                    let a = try leftScope.resolve(nil, name, at: usingRange)
                    let b = try rightScope.resolve(nil, name, at: usingRange)
                    do {
                        let (l, r) = try ExpressionBuilder.joinKeys(
                            ExpressionBuilder.column(a, in: leftScope.schema), ExpressionBuilder.column(b, in: rightScope.schema))
                        keys.append(EquiKey(l, r))
                    } catch {
                        throw SQLError("USING (\(name)): \(error)", at: usingRange)
                    }
                    combined.columns[leftWidth + b].hidden = true
                }
            case .on(let expression):
                let bound = try bindExpression(expression, combined, nil)
                guard bound.type == .boolean else { throw SQLError("ON expects a BOOLEAN condition", at: expression.range) }
                for conjunct in bound.conjuncts {
                    if case .binary(.equal, let a, let b) = conjunct, let key = Optimizer.equiKey(a, b, leftWidth: leftWidth) {
                        keys.append(key)
                    } else {
                        residual.append(conjunct)
                    }
                }
            case nil: break
            }
            let joinKind: JoinKind =
                switch kind {
                case .inner: keys.isEmpty && residual.isEmpty ? .cross : .inner
                case .left: .left
                case .right: .right
                case .full: .full
                case .cross: .cross
                case .semi: .semi
                case .anti: .anti
                }
            if (joinKind == .right || joinKind == .full || joinKind == .semi || joinKind == .anti) && keys.isEmpty {
                throw SQLError(
                    "\(kind.rawValue.uppercased()) JOIN needs an equality between the two sides (ON a.x = b.y or USING)", at: range)
            }
            let plan = LogicalPlan.join(leftPlan, rightPlan, joinKind, on: keys, residual: Expression.conjunction(residual))
            if joinKind == .semi || joinKind == .anti { return (plan, leftScope) }
            return (plan, combined)
        }
    }

    /// `dir/G1_1e7.csv.gz` → `G1_1e7`: the name a file's columns are qualified with.
    func tableName(_ path: String) -> String {
        var name = String(path.split(separator: "/").last ?? Substring(path))
        for suffix in [".gz", ".csv", ".tsv", ".txt"] where name.lowercased().hasSuffix(suffix) {
            name = String(name.dropLast(suffix.count))
        }
        return name
    }
}
