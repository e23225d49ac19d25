import Columns
import Threading

/// Equi-joins by hashing: the right input is the build side (a table from each distinct key to a
/// chain of its rows; an inner join's smaller input), the left input is probed batch by batch in
/// parallel. Keys of both sides go
/// through one `KeyEncoding`, so strings from different dictionaries and integers of different
/// widths meet as equal words. A NULL key matches nothing (SQL's `=`). Inner, left, right, full,
/// semi and anti joins share the probe; the outer sides' unmatched rows are appended with NULLs.
enum HashJoin {
    static func run(
        left: [RecordBatch], right: [RecordBatch], kind: JoinKind, on keys: [EquiKey], residual: Expression?, schema: Schema,
        pool: ThreadPool
    ) throws -> [RecordBatch] {
        let leftSchema = left.first?.schema ?? Schema([]), rightSchema = right.first?.schema ?? Schema([])
        // An inner join builds on its smaller input whichever side it was written on (a star query
        // written dimension-first, `small JOIN big`): the sides trade places and the output's
        // columns are put back in left-then-right order. Rows then come in the right side's order
        // (SQL promises none without ORDER BY).
        if kind == .inner && residual == nil && !left.isEmpty && !right.isEmpty,
            2 * left.reduce(0, { $0 + $1.rowCount }) < right.reduce(0, { $0 + $1.rowCount })
        {
            let swapped = try run(
                left: right, right: left, kind: .inner, on: keys.map { EquiKey($0.right, $0.left) }, residual: nil,
                schema: Schema(rightSchema.fields + leftSchema.fields), pool: pool)
            let rightWidth = rightSchema.count
            return swapped.map { batch in
                RecordBatch(
                    schema: schema, columns: Array(batch.columns[rightWidth...] + batch.columns[..<rightWidth]), rowCount: batch.rowCount)
            }
        }
        let leftKeys = try pool.morsels(left.count) { index, _ in try keys.map { try ExpressionEvaluator.evaluate($0.left, left[index]) } }
        let rightKeys = try pool.morsels(right.count) { index, _ in
            try keys.map { try ExpressionEvaluator.evaluate($0.right, right[index]) }
        }
        let types = keys.map { DataType.common($0.left.type, $0.right.type) }
        let (encoding, encodedKeys) = KeyEncoding.make(
            (leftKeys + rightKeys).map { columns in
                zip(columns, types).map { column, type in (try? Casts.cast(column, to: type)) ?? column }
            },
            types: types)
        let width = encoding.width

        // Build: the right side concatenated and its rows chained by key.
        let build = concatenate(right, schema: rightSchema)
        let buildRows = build.rowCount
        let buildIndex = JoinIndex(
            encoding: encoding, rows: right.map(\.rowCount),
            words: { encoding.encode(encodedKeys[left.count + $0], rows: right[$0].rowCount) },
            skips: { nullKeyRows(encodedKeys[left.count + $0], rows: right[$0].rowCount) })
        let ordered = buildIndex.next

        // Probe in parallel: pairs (left row, right row or -1) per left batch.
        let outer = kind == .left || kind == .full
        let results = try pool.morsels(left.count) { index, _ -> (RecordBatch, [Int32]) in
            let batch = left[index]
            let rows = batch.rowCount
            let columns = encodedKeys[index]
            let words = encoding.encode(columns, rows: rows)
            let nullRows = nullKeyRows(columns, rows: rows)
            var leftRows = [Int32](), rightRows = [Int32]()
            words.withUnsafeBufferPointer { words in
                for row in 0..<rows {
                    var match: Int32 = -1
                    if !nullRows.contains(row) {
                        let key = words.baseAddress! + row * width
                        match = buildIndex.first(key)
                    }
                    if kind == .semi || kind == .anti {
                        if (match >= 0) == (kind == .semi) && residual == nil {
                            leftRows.append(Int32(row))
                            rightRows.append(-1)
                        } else if residual != nil {
                            // Candidates are checked against the residual below.
                            while match >= 0 {
                                leftRows.append(Int32(row))
                                rightRows.append(match)
                                match = ordered[Int(match)]
                            }
                        }
                        continue
                    }
                    if match < 0 {
                        if outer {
                            leftRows.append(Int32(row))
                            rightRows.append(-1)
                        }
                        continue
                    }
                    while match >= 0 {
                        leftRows.append(Int32(row))
                        rightRows.append(match)
                        match = ordered[Int(match)]
                    }
                }
            }
            var joined = pairBatch(batch, leftRows, build, rightRows, leftSchema: leftSchema, rightSchema: rightSchema)
            if let residual {
                let keep = Selection.rows(where: try ExpressionEvaluator.evaluate(residual, joined))
                if kind == .semi || kind == .anti {
                    var matched = Set<Int32>()
                    for position in keep { matched.insert(leftRows[Int(position)]) }
                    let survivors = (0..<Int32(rows)).filter { matched.contains($0) == (kind == .semi) }
                    return (Selection.gather(batch, survivors), [])
                }
                var survivingLeft = [Int32](), survivingRight = [Int32]()
                var kept = Set<Int32>()
                for position in keep {
                    survivingLeft.append(leftRows[Int(position)])
                    survivingRight.append(rightRows[Int(position)])
                    kept.insert(leftRows[Int(position)])
                }
                if outer {
                    for row in 0..<Int32(rows) where !kept.contains(row) {
                        survivingLeft.append(row)
                        survivingRight.append(-1)
                    }
                }
                leftRows = survivingLeft
                rightRows = survivingRight
                joined = pairBatch(batch, leftRows, build, rightRows, leftSchema: leftSchema, rightSchema: rightSchema)
            }
            if kind == .semi || kind == .anti { return (Selection.gather(batch, leftRows), []) }
            return (joined, rightRows)
        }
        var output = results.map(\.0)
        if kind == .semi || kind == .anti { return output }
        if kind == .right || kind == .full {
            var matched = [Bool](repeating: false, count: buildRows)
            for (_, rightRows) in results { for row in rightRows where row >= 0 { matched[Int(row)] = true } }
            let unmatched = (0..<Int32(buildRows)).filter { !matched[Int($0)] }
            if !unmatched.isEmpty {
                let leftNulls = leftSchema.fields.map { Column.nulls($0.type, count: unmatched.count) }
                let rightColumns = unmatched.withUnsafeBufferPointer { rows in build.columns.map { $0.gather(rows) } }
                output.append(RecordBatch(schema: schema, columns: leftNulls + rightColumns, rowCount: unmatched.count))
            }
        }
        return output
    }

    /// Which rows have a NULL in any key column (they match nothing); empty when none can.
    static func nullKeyRows(_ columns: [Column], rows: Int) -> NullRows {
        var flags: [Bool] = []
        for column in columns {
            guard let validity = column.validity else { continue }
            if flags.isEmpty { flags = [Bool](repeating: false, count: rows) }
            for row in 0..<rows where !validity.isValid(row) { flags[row] = true }
        }
        return NullRows(flags: flags)
    }

    struct NullRows {
        let flags: [Bool]
        @inline(__always)
        func contains(_ row: Int) -> Bool { !flags.isEmpty && flags[row] }
    }

    static func concatenate(_ batches: [RecordBatch], schema: Schema) -> RecordBatch {
        if batches.count == 1 { return batches[0] }
        if batches.isEmpty {
            return RecordBatch(schema: schema, columns: schema.fields.map { Column.nulls($0.type, count: 0) }, rowCount: 0)
        }
        let columns = schema.fields.indices.map { index in Column.concatenate(batches.map { $0.columns[index] }) }
        return RecordBatch(schema: schema, columns: columns, rowCount: batches.reduce(0) { $0 + $1.rowCount })
    }

    static func pairBatch(
        _ probe: RecordBatch, _ leftRows: [Int32], _ build: RecordBatch, _ rightRows: [Int32], leftSchema: Schema, rightSchema: Schema
    ) -> RecordBatch {
        let leftColumns = leftRows.withUnsafeBufferPointer { rows in probe.columns.map { $0.gather(rows) } }
        let rightColumns = rightRows.withUnsafeBufferPointer { rows in build.columns.map { $0.gatherOrNull(rows) } }
        return RecordBatch(
            schema: Schema(leftSchema.fields + rightSchema.fields), columns: leftColumns + rightColumns, rowCount: leftRows.count)
    }
}
