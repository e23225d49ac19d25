import Columns

/// What one chunk's fields of a column turned out to be. The order is the widening order within
/// numbers; anything else that disagrees meets at text.
enum FieldKind: Int, Comparable, Sendable {
    case empty = 0
    case boolean, integer, double, date, timestamp, text
    static func < (a: FieldKind, b: FieldKind) -> Bool { a.rawValue < b.rawValue }

    var dataType: DataType {
        switch self {
        case .empty, .text: .string
        case .boolean: .boolean
        case .integer: .int64
        case .double: .float64
        case .date: .date
        case .timestamp: .timestamp
        }
    }

    /// The narrowest kind holding both (integers widen to double, dates to timestamps, else text).
    static func merge(_ a: FieldKind, _ b: FieldKind) -> FieldKind {
        if a == b || b == .empty { return a }
        if a == .empty { return b }
        if (a == .integer && b == .double) || (a == .double && b == .integer) { return .double }
        if (a == .date && b == .timestamp) || (a == .timestamp && b == .date) { return .timestamp }
        return .text
    }
}

/// The values of one column of one chunk, in the kind its fields allowed so far.
struct ChunkColumn {
    var kind: FieldKind = .empty
    /// Rows so far, and which of them are NULL (few, usually: kept as a list, not a flag a row).
    var count = 0
    var nullRows: [Int32] = []
    var booleans: [Bool] = []
    var integers: [Int64] = []
    var doubles: [Double] = []
    /// Dictionary codes while the column's distinct strings stay few, else views.
    var interner: StringInterner?
    /// `interner != nil`, kept beside it: testing the optional itself in the parse loop copies the
    /// interner (a retain and release of each of its arrays per field).
    var dictionaryEncoded = false
    var codes: [UInt32] = []
    var strings: StringArrayBuilder?
    /// Set when the column became text after rows were already parsed as something else: its
    /// text is collected in a second pass over the chunk.
    var needsText = false
}

/// Parses one chunk of records (it starts at a record start and ends after a record end) into
/// columns, inferring each column's kind as it goes.
struct ChunkParser {
    let bytes: UnsafePointer<UInt8>
    let start: Int
    let end: Int
    let columnCount: Int
    let delimiter: UInt8
    let quote: UInt8
    let nullMarkers: [[UInt8]]
    let padMissing: Bool
    let maximumLineBytes: Int
    let forcedKinds: [FieldKind?]
    /// Most distinct strings a chunk dictionary-encodes before switching the column to views.
    static let dictionaryLimit = 1 << 17

    struct Failure: Error {
        let offset: Int
        let field: Int?
        let message: String
    }

    /// Fields of one record: (start, length, needs unquoting) into `scratch`.
    struct Field {
        var start: Int
        var length: Int
        var escaped: Bool
    }

    func parse() throws(Failure) -> (columns: [ChunkColumn], rows: Int) {
        var columns = [ChunkColumn](repeating: ChunkColumn(), count: columnCount)
        for index in 0..<columnCount { if let forced = forcedKinds[index] { columns[index].kind = forced } }
        // Rows expected from the first record's length, so the value arrays rarely grow.
        let expectedRows = estimatedRows()
        for index in 0..<columnCount {
            columns[index].integers.reserveCapacity(expectedRows)
            columns[index].doubles.reserveCapacity(expectedRows)
            columns[index].codes.reserveCapacity(expectedRows)
        }
        var fields = [Field](repeating: Field(start: 0, length: 0, escaped: false), count: columnCount)
        var unescaped: [UInt8] = []
        // Dictionary-encoded fields of the current record, interned after the record's other
        // fields are parsed: their table slots are prefetched meanwhile.
        var deferred = [Int](repeating: 0, count: columnCount)
        var position = start
        var rows = 0
        while position < end {
            let recordStart = position
            let (next, count) = try record(at: position, into: &fields)
            position = next
            if count == 1 && fields[0].length == 0 && columnCount > 1 { continue }  // blank line
            guard count == columnCount || (padMissing && count < columnCount) else {
                throw Failure(offset: recordStart, field: nil, message: "expected \(columnCount) fields, found \(count)")
            }
            var deferredCount = 0
            for column in 0..<columnCount {
                if column >= count {
                    appendNull(&columns[column], row: rows)
                    continue
                }
                let field = fields[column]
                if !field.escaped && columns[column].kind == .text && columns[column].dictionaryEncoded && !columns[column].needsText {
                    let p = bytes + field.start
                    if (field.start != recordStart && isQuotedAt(field.start)) || !isNullText(p, field.length) {
                        guard FieldParsing.isValidUTF8(p, field.length) else {
                            throw Failure(offset: field.start, field: column + 1, message: "invalid UTF-8")
                        }
                        columns[column].count += 1
                        columns[column].interner!.prefetch(UnsafeRawBufferPointer(start: p, count: field.length))
                        deferred[deferredCount] = column
                        deferredCount += 1
                        continue
                    }
                }
                if field.escaped {
                    unescaped.removeAll(keepingCapacity: true)
                    var index = field.start
                    while index < field.start + field.length {
                        unescaped.append(bytes[index])
                        index += bytes[index] == quote ? 2 : 1
                    }
                    try unescaped.withUnsafeBufferPointer { buffer throws(Failure) in
                        try append(
                            &columns[column], buffer.baseAddress ?? bytes, buffer.count, quoted: true, row: rows, column: column,
                            offset: field.start)
                    }
                } else {
                    try append(
                        &columns[column], bytes + field.start, field.length,
                        quoted: fields[column].start != recordStart && isQuotedAt(field.start), row: rows, column: column,
                        offset: field.start)
                }
            }
            for index in 0..<deferredCount {
                let field = fields[deferred[index]]
                appendText(&columns[deferred[index]], UnsafeRawBufferPointer(start: bytes + field.start, count: field.length))
            }
            rows += 1
        }
        return (columns, rows)
    }

    func estimatedRows() -> Int {
        var index = start
        while index < end && bytes[index] != 0x0A { index += 1 }
        let line = max(1, index - start + 1)
        return (end - start) / line + (end - start) / line / 8 + 16
    }

    @inline(__always)
    func isQuotedAt(_ fieldStart: Int) -> Bool { fieldStart > start && bytes[fieldStart - 1] == quote }

    /// Splits the record at `position` into fields; returns the next record's start and the count.
    @inline(__always)
    func record(at position: Int, into fields: inout [Field]) throws(Failure) -> (Int, Int) {
        var index = position
        var count = 0
        let recordStart = position
        while true {
            var field = Field(start: index, length: 0, escaped: false)
            if index < end && bytes[index] == quote {
                // Quoted: to the closing quote; "" inside is one quote.
                index += 1
                field.start = index
                while true {
                    guard index < end else {
                        throw Failure(offset: recordStart, field: count + 1, message: "unterminated quoted field")
                    }
                    if bytes[index] == quote {
                        if index + 1 < end && bytes[index + 1] == quote {
                            field.escaped = true
                            index += 2
                            continue
                        }
                        break
                    }
                    index += 1
                }
                field.length = index - field.start
                index += 1
                guard index >= end || bytes[index] == delimiter || bytes[index] == 0x0A || bytes[index] == 0x0D else {
                    throw Failure(offset: recordStart, field: count + 1, message: "unexpected character after a closing quote")
                }
            } else {
                while index < end && bytes[index] != delimiter && bytes[index] != 0x0A { index += 1 }
                field.length = index - field.start
                if field.length > 0 && bytes[field.start + field.length - 1] == 0x0D && (index >= end || bytes[index] == 0x0A) {
                    field.length -= 1
                }
            }
            if count < fields.count { fields[count] = field }
            count += 1
            if index - recordStart > maximumLineBytes {
                throw Failure(offset: recordStart, field: nil, message: "a record longer than \(maximumLineBytes) bytes")
            }
            if index >= end { return (end, count) }
            if bytes[index] == delimiter {
                index += 1
                continue
            }
            if bytes[index] == 0x0D { index += 1 }
            if index < end && bytes[index] == 0x0A { index += 1 }
            return (index, count)
        }
    }

    @inline(__always)
    func isNullText(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        if n == 0 { return true }
        for marker in nullMarkers where marker.count == n {
            var same = true
            for index in 0..<n where marker[index] != p[index] { same = false }
            if same { return true }
        }
        return false
    }

    func appendNull(_ column: inout ChunkColumn, row: Int) {
        column.nullRows.append(Int32(column.count))
        column.count += 1
        switch column.kind {
        case .empty: break
        case .boolean: column.booleans.append(false)
        case .integer, .timestamp: column.integers.append(0)
        case .double: column.doubles.append(0)
        case .date: column.integers.append(0)
        case .text:
            if column.interner != nil {
                column.codes.append(0)
            } else {
                column.strings?.append(UnsafeRawBufferPointer(start: nil, count: 0))
            }
        }
    }

    @inline(__always)
    func append(_ column: inout ChunkColumn, _ p: UnsafePointer<UInt8>, _ n: Int, quoted: Bool, row: Int, column index: Int, offset: Int)
        throws(Failure)
    {
        if !quoted && isNullText(p, n) {
            appendNull(&column, row: row)
            return
        }
        column.count += 1
        while true {
            switch column.kind {
            case .empty:
                column.kind = quoted ? .text : classify(p, n)
                fillNulls(&column, rows: row)
                continue
            case .boolean:
                if let value = FieldParsing.boolean(p, n) {
                    column.booleans.append(value)
                    return
                }
            case .integer:
                if let value = FieldParsing.integer(p, n) {
                    column.integers.append(value)
                    return
                }
                if let value = FieldParsing.double(p, n) {
                    column.kind = .double
                    column.doubles = column.integers.map { Double($0) }
                    column.integers = []
                    column.doubles.append(value)
                    return
                }
            case .double:
                if let value = FieldParsing.double(p, n) {
                    column.doubles.append(value)
                    return
                }
            case .date:
                if let value = FieldParsing.date(p, n) {
                    column.integers.append(Int64(value))
                    return
                }
                if let value = FieldParsing.timestamp(p, n) {
                    column.kind = .timestamp
                    column.integers = column.integers.map { $0 * 86_400_000_000 }
                    column.integers.append(value)
                    return
                }
            case .timestamp:
                if let value = FieldParsing.timestamp(p, n) ?? FieldParsing.date(p, n).map({ Int64($0) * 86_400_000_000 }) {
                    column.integers.append(value)
                    return
                }
            case .text:
                guard FieldParsing.isValidUTF8(p, n) else {
                    throw Failure(offset: offset, field: index + 1, message: "invalid UTF-8")
                }
                appendText(&column, UnsafeRawBufferPointer(start: p, count: n))
                return
            }
            // The field does not fit the column's kind: the column is text from here on, and its
            // earlier rows are re-read as text after the chunk.
            if forcedKinds[index] != nil {
                throw Failure(
                    offset: offset, field: index + 1,
                    message:
                        "\"\(String(decoding: UnsafeBufferPointer(start: p, count: min(n, 40)), as: UTF8.self))\" is not a \(column.kind.dataType)"
                )
            }
            column.kind = .text
            column.needsText = true
            column.booleans = []
            column.integers = []
            column.doubles = []
            return
        }
    }

    func fillNulls(_ column: inout ChunkColumn, rows: Int) {
        switch column.kind {
        case .boolean: column.booleans = [Bool](repeating: false, count: rows)
        case .integer, .date, .timestamp: column.integers = [Int64](repeating: 0, count: rows)
        case .double: column.doubles = [Double](repeating: 0, count: rows)
        case .text:
            column.interner = StringInterner()
            column.dictionaryEncoded = true
            column.codes = [UInt32](repeating: 0, count: rows)
        case .empty: break
        }
    }

    @inline(__always)
    func appendText(_ column: inout ChunkColumn, _ bytes: UnsafeRawBufferPointer) {
        if column.needsText { return }
        if column.dictionaryEncoded {
            column.codes.append(column.interner!.intern(bytes))
            if column.interner!.count > ChunkParser.dictionaryLimit {
                // Too many distinct values: the column is stored as views from here on.
                let dictionary = column.interner!.finish()
                var builder = StringArrayBuilder(capacity: column.codes.count)
                for code in column.codes { dictionary.withBytes(Int(code)) { builder.append($0) } }
                column.strings = builder
                column.interner = nil
                column.dictionaryEncoded = false
                column.codes = []
            }
        } else {
            if column.strings == nil { column.strings = StringArrayBuilder() }
            column.strings!.append(bytes)
        }
    }

    @inline(__always)
    func classify(_ p: UnsafePointer<UInt8>, _ n: Int) -> FieldKind {
        if FieldParsing.integer(p, n) != nil { return .integer }
        if FieldParsing.double(p, n) != nil { return .double }
        if FieldParsing.boolean(p, n) != nil { return .boolean }
        if FieldParsing.date(p, n) != nil { return .date }
        if FieldParsing.timestamp(p, n) != nil { return .timestamp }
        return .text
    }

    /// Every field of the given columns as text (a second pass for columns that turned text).
    func collectText(_ wanted: Set<Int>, into columns: inout [ChunkColumn]) throws(Failure) {
        for index in wanted {
            columns[index] = ChunkColumn(kind: .text)
            columns[index].interner = StringInterner()
            columns[index].dictionaryEncoded = true
        }
        var fields = [Field](repeating: Field(start: 0, length: 0, escaped: false), count: columnCount)
        var position = start
        var unescaped: [UInt8] = []
        while position < end {
            let recordStart = position
            let (next, count) = try record(at: position, into: &fields)
            position = next
            if count == 1 && fields[0].length == 0 && columnCount > 1 { continue }
            for index in wanted {
                if index >= count {
                    appendNull(&columns[index], row: 0)
                    continue
                }
                let field = fields[index]
                let quoted = field.start > recordStart && bytes[field.start - 1] == quote
                if !quoted && isNullText(bytes + field.start, field.length) {
                    appendNull(&columns[index], row: 0)
                    continue
                }
                columns[index].count += 1
                var p = bytes + field.start
                var n = field.length
                if field.escaped {
                    unescaped.removeAll(keepingCapacity: true)
                    var i = field.start
                    while i < field.start + field.length {
                        unescaped.append(bytes[i])
                        i += bytes[i] == quote ? 2 : 1
                    }
                    n = unescaped.count
                }
                try unescaped.withUnsafeBufferPointer { buffer throws(Failure) in
                    if field.escaped { p = buffer.baseAddress! }
                    guard FieldParsing.isValidUTF8(p, n) else {
                        throw Failure(offset: field.start, field: index + 1, message: "invalid UTF-8")
                    }
                    appendText(&columns[index], UnsafeRawBufferPointer(start: p, count: n))
                }
            }
        }
    }
}
