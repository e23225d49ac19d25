/// A named, typed column of a table.
public struct Field: Hashable, Sendable {
    public var name: String
    public var type: DataType
    public var nullable: Bool

    public init(_ name: String, _ type: DataType, nullable: Bool = true) {
        self.name = name
        self.type = type
        self.nullable = nullable
    }
}

/// The columns of a table in order. Names are matched case-insensitively, as in SQL (DuckDB's
/// rule); the first of equal names wins.
public struct Schema: Hashable, Sendable {
    public var fields: [Field]

    public init(_ fields: [Field]) { self.fields = fields }

    public var count: Int { fields.count }
    public var names: [String] { fields.map(\.name) }

    public func index(of name: String) -> Int? {
        if let exact = fields.firstIndex(where: { $0.name == name }) { return exact }
        let folded = name.lowercased()
        return fields.firstIndex { $0.name.lowercased() == folded }
    }
}

/// A morsel of a table: the same number of rows from every column. Operators run on batches in
/// parallel; a scan produces them (a CSV chunk now, a Parquet row group later).
public struct RecordBatch: Sendable {
    public let schema: Schema
    public let columns: [Column]
    public let rowCount: Int

    public init(schema: Schema, columns: [Column], rowCount: Int? = nil) {
        precondition(schema.count == columns.count, "schema has \(schema.count) fields, batch \(columns.count) columns")
        let rows = rowCount ?? columns.first?.count ?? 0
        precondition(columns.allSatisfy { $0.count == rows }, "columns of a batch differ in length")
        self.schema = schema
        self.columns = columns
        self.rowCount = rows
    }

    public func column(named name: String) -> Column? { schema.index(of: name).map { columns[$0] } }
}

/// A table: a schema and its rows in batches (chunked, never one giant allocation per column).
public struct Table: Sendable {
    public let schema: Schema
    public let batches: [RecordBatch]

    public init(schema: Schema, batches: [RecordBatch]) {
        precondition(batches.allSatisfy { $0.schema.fields.map(\.type) == schema.fields.map(\.type) }, "batch types differ from the schema")
        self.schema = schema
        self.batches = batches
    }

    public var rowCount: Int { batches.reduce(0) { $0 + $1.rowCount } }

    /// Row `row`, column `column` (slow path).
    public func value(row: Int, column: Int) -> Value {
        var row = row
        for batch in batches {
            if row < batch.rowCount { return batch.columns[column].value(at: row) }
            row -= batch.rowCount
        }
        preconditionFailure("row out of range")
    }
}
