import CSV
import Columns
import DataFrames
import Threading

/// What a statement gives back.
public enum SQLResult: Sendable {
    case table(Table)
    /// EXPLAIN's plan, or what COPY / CREATE TABLE did.
    case text(String)
}

/// A SQL session: named tables (CREATE TABLE … AS), files read once per statement, and the thread
/// pool every query runs on. `execute` parses, binds, optimizes and runs each statement.
public final class SQLSession: @unchecked Sendable {
    // @unchecked: one statement at a time (the CLI's prompt, a script); not shared across threads.
    public let pool: ThreadPool
    public private(set) var tables: [String: Table] = [:]
    var files: [String: CSVFileSource] = [:]

    public init(pool: ThreadPool) { self.pool = pool }

    public func register(_ table: Table, as name: String) { tables[name.lowercased()] = table }

    public func execute(_ text: String) throws(SQLError) -> [SQLResult] {
        var results: [SQLResult] = []
        for statement in try SQLParser.parse(text) { results.append(try execute(statement)) }
        return results
    }

    public func execute(_ statement: Statement) throws(SQLError) -> SQLResult {
        // Files are read once per statement, not kept: a table that should stay is CREATE TABLE'd.
        defer { files = [:] }
        switch statement {
        case .query(let query):
            let plan = try Binder(session: self).bind(query)
            return .table(try run(plan))
        case .explain(let inner):
            guard case .query(let query) = inner else { throw SQLError("EXPLAIN works on queries (SELECT …)") }
            return .text(Explain.text(Optimizer.optimize(try Binder(session: self).bind(query))))
        case .createTableAs(let name, let query):
            let table = try run(try Binder(session: self).bind(query))
            tables[name.lowercased()] = table
            return .text("created table \(name): \(table.rowCount) rows, \(table.schema.count) columns")
        case .copy(let query, let path, let options):
            let table = try run(try Binder(session: self).bind(query))
            var delimiter: UInt8 = 0x2C
            var header = true
            for (key, value) in options {
                switch (key, value.node) {
                case ("format", .literal(.string(let format))) where format.lowercased() == "csv": break
                case ("header", .literal(.boolean(let flag))): header = flag
                case ("delimiter", .literal(.string(let text))), ("delim", .literal(.string(let text))):
                    guard text.utf8.count == 1 else { throw SQLError("COPY: the delimiter must be one byte", at: value.range) }
                    delimiter = text.utf8.first!
                default: throw SQLError("COPY: unsupported option \(key) (FORMAT csv, HEADER true|false, DELIMITER ',')", at: value.range)
                }
            }
            do {
                try CSVWriter.write(table, to: path, delimiter: delimiter, header: header)
            } catch {
                throw SQLError("\(error)")
            }
            return .text("wrote \(table.rowCount) rows to \(path)")
        }
    }

    func run(_ plan: LogicalPlan) throws(SQLError) -> Table {
        do {
            return try Executor(pool: pool).run(Optimizer.optimize(plan))
        } catch let error as QueryError {
            throw SQLError(error.message)
        } catch {
            throw SQLError("\(error)")
        }
    }

    func file(_ pattern: String, options: CSVReadOptions, key: String, range: SourceRange) throws(SQLError) -> CSVFileSource {
        if let cached = files[key] { return cached }
        do {
            let source = try CSVFileSource(pattern: pattern, options: options, pool: pool)
            files[key] = source
            return source
        } catch let error as QueryError {
            throw SQLError(error.message, at: range)
        } catch {
            throw SQLError("\(error)", at: range)
        }
    }
}
