import CSV
import Columns
import Threading

/// A CSV file (or a glob of them) as a table source. The files are read once, when the source is
/// made: whole-file type inference needs every row before the schema is known, and a query that
/// names the file twice reads it once.
public struct CSVFileSource: TableSource {
    public let pattern: String
    public let table: Table

    public init(pattern: String, options: CSVReadOptions, pool: ThreadPool) throws {
        self.pattern = pattern
        do {
            table = try CSVReader.read(path: pattern, options: options, pool: pool)
        } catch let error as CSVError {
            throw QueryError(error.message)
        }
    }

    public var schema: Schema { table.schema }
    public var label: String { "read_csv('\(pattern)')" }

    public func batches(columns: [Int], pool: ThreadPool) throws -> [RecordBatch] {
        try InMemorySource(table, name: label).batches(columns: columns, pool: pool)
    }
}
