import Columns

/// Row selection from predicates: the rows where a boolean column is TRUE (NULL counts as not
/// true, as WHERE and HAVING treat it), and a batch cut down to them.
enum Selection {
    static func rows(where predicate: Column) -> [Int32] {
        let flags = predicate.booleanValues()
        var selected = [Int32]()
        selected.reserveCapacity(flags.count / 4)
        flags.withUnsafeBufferPointer { flags in
            if let validity = predicate.validity {
                for row in 0..<flags.count where flags[row] && validity.isValid(row) { selected.append(Int32(row)) }
            } else {
                for row in 0..<flags.count where flags[row] { selected.append(Int32(row)) }
            }
        }
        return selected
    }

    static func filter(_ batch: RecordBatch, _ predicate: Expression) throws -> RecordBatch {
        let selected = rows(where: try ExpressionEvaluator.evaluate(predicate, batch))
        if selected.count == batch.rowCount { return batch }
        return gather(batch, selected)
    }

    static func gather(_ batch: RecordBatch, _ rows: [Int32]) -> RecordBatch {
        rows.withUnsafeBufferPointer { rows in
            RecordBatch(schema: batch.schema, columns: batch.columns.map { $0.gather(rows) }, rowCount: rows.count)
        }
    }
}
