import CSV
import Columns
import Threading

/// Where a scan's rows come from. A source reports its schema before anything runs and then
/// produces batches with only the requested columns and (optionally) a filter applied while
/// scanning — the seam a Parquet reader (row groups with statistics) or a spilling source plugs
/// into later.
public protocol TableSource: Sendable {
    var schema: Schema { get }
    /// What EXPLAIN prints for the scan.
    var label: String { get }
    /// Batches of the given columns, in this order.
    func batches(columns: [Int], pool: ThreadPool) throws -> [RecordBatch]
}

/// A table already in memory (CREATE TABLE … AS, a DataFrame built in Swift).
public struct InMemorySource: TableSource {
    public let table: Table
    public let name: String

    public init(_ table: Table, name: String) {
        self.table = table
        self.name = name
    }

    public var schema: Schema { table.schema }
    public var label: String { name }

    public func batches(columns: [Int], pool: ThreadPool) throws -> [RecordBatch] {
        let schema = Schema(columns.map { table.schema.fields[$0] })
        return table.batches.map { batch in
            RecordBatch(schema: schema, columns: columns.map { batch.columns[$0] }, rowCount: batch.rowCount)
        }
    }
}
