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

    /// Whether a text field goes to the interner now (not to views, not left for the second pass).
    var internsText: Bool { kind == .text && dictionaryEncoded && !needsText }
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

    /// One field of a record: where its bytes are, whether it was quoted, and whether it holds
    /// doubled quotes to undo. A record shorter than the header (with `padMissing`) ends in
    /// fields with length -1.
    struct Field {
        var start: Int
        var length: Int
        var quoted = false
        var escaped = false

        static let missing = Field(start: 0, length: -1)
    }

    /// Records split per batch, then parsed a column at a time: one column's kind, state and branch
    /// history stay put over the batch, and a dictionary column's table slots for the whole batch
    /// are prefetched before the first is probed.
    static let batchRows = 128

    func parse() throws(Failure) -> (columns: [ChunkColumn], rows: Int) {
        var columns = [ChunkColumn](repeating: ChunkColumn(), count: columnCount)
        for index in 0..<columnCount { if let forced = forcedKinds[index] { columns[index].kind = forced } }
        // Reserved for the most rows the chunk can hold, so the value arrays never grow.
        let expectedRows = estimatedRows()
        for index in 0..<columnCount {
            columns[index].integers.reserveCapacity(expectedRows)
            columns[index].doubles.reserveCapacity(expectedRows)
            columns[index].codes.reserveCapacity(expectedRows)
        }
        let batch = UnsafeMutableBufferPointer<Field>.allocate(capacity: Self.batchRows * columnCount)
        defer { batch.deallocate() }
        var unescaped: [UInt8] = []
        var position = start
        var rows = 0
        var scanner = fieldEnds()
        while position < end {
            var batchCount = 0
            while batchCount < Self.batchRows && position < end {
                let recordStart = position
                let fields = UnsafeMutableBufferPointer(rebasing: batch[(batchCount * columnCount)..<((batchCount + 1) * columnCount)])
                let (next, count) = try record(at: position, into: fields, scanner: &scanner)
                position = next
                if count == 1 && fields[0].length == 0 && columnCount > 1 { continue }  // blank line
                guard count == columnCount || (padMissing && count < columnCount) else {
                    throw Failure(offset: recordStart, field: nil, message: "expected \(columnCount) fields, found \(count)")
                }
                for column in count..<columnCount { fields[column] = .missing }
                batchCount += 1
            }
            for column in 0..<columnCount {
                try parseColumn(column, of: batch, rows: batchCount, before: rows, into: &columns[column], unescaped: &unescaped)
            }
            rows += batchCount
        }
        return (columns, rows)
    }

    /// The batch's fields of one column appended to it.
    @inline(__always)
    func parseColumn(
        _ column: Int, of batch: UnsafeMutableBufferPointer<Field>, rows: Int, before: Int, into parsed: inout ChunkColumn,
        unescaped: inout [UInt8]
    ) throws(Failure) {
        // A dictionary column's short ASCII fields go straight to the interner, their views made
        // from two loads (the buffer is padded past its end) and their slots prefetched for the
        // whole batch first; anything else takes the general path.
        if parsed.internsText {
            for row in 0..<rows {
                let field = batch[row * columnCount + column]
                if field.length > 0 && field.length <= StringView.inlineLimit && !field.escaped {
                    parsed.interner!.prefetch(inline: StringView(paddedInline: bytes + field.start, count: field.length))
                }
            }
        }
        // An integer column's fields of up to eight digits parse without a loop (a field that is
        // not one, or that widens the column, takes the general path).
        for row in 0..<rows {
            let field = batch[row * columnCount + column]
            if parsed.kind == .integer && nullMarkers.isEmpty,
                let value = FieldParsing.shortUnsigned(padded: bytes + field.start, field.length)
            {
                parsed.count += 1
                parsed.integers.append(value)
                continue
            }
            if parsed.internsText && field.length > 0 && field.length <= StringView.inlineLimit && !field.escaped {
                let view = StringView(paddedInline: bytes + field.start, count: field.length)
                if view.inlineIsASCII && (field.quoted || !isNullText(bytes + field.start, field.length)) {
                    parsed.count += 1
                    let text = UnsafeRawBufferPointer(start: bytes + field.start, count: field.length)
                    appendCode(&parsed, parsed.interner!.intern(inline: view, text))
                    continue
                }
            }
            if field.length < 0 {
                appendNull(&parsed, row: before + row)
            } else if field.escaped {
                unescape(field, into: &unescaped)
                try unescaped.withUnsafeBufferPointer { buffer throws(Failure) in
                    try append(
                        &parsed, buffer.baseAddress ?? bytes, buffer.count, quoted: true, row: before + row, column: column,
                        offset: field.start)
                }
            } else {
                try append(
                    &parsed, bytes + field.start, field.length, quoted: field.quoted, row: before + row, column: column,
                    offset: field.start)
            }
        }
    }

    /// A quoted field's bytes with each doubled quote made one.
    func unescape(_ field: Field, into unescaped: inout [UInt8]) {
        unescaped.removeAll(keepingCapacity: true)
        var index = field.start
        while index < field.start + field.length {
            unescaped.append(bytes[index])
            index += bytes[index] == quote ? 2 : 1
        }
    }

    /// At most one record a newline (quoted newlines make it fewer), plus an unterminated last one.
    /// Counted, not estimated from one line's length: an array that outgrows its reservation is
    /// copied into fresh pages, and first-touch page faults are most of what a parse costs.
    func estimatedRows() -> Int {
        CSVReader.countBytes(0x0A, bytes + start, end - start) + 1
    }

    func fieldEnds() -> FieldEndScanner { FieldEndScanner(bytes: bytes, end: end, delimiter: delimiter) }

    /// Splits the record at `position` into fields (those past `fields.count` are counted, not
    /// kept); returns the next record's start and the count.
    @inline(__always)
    func record(at position: Int, into fields: UnsafeMutableBufferPointer<Field>, scanner: inout FieldEndScanner) throws(Failure) -> (
        Int, Int
    ) {
        var index = position
        var count = 0
        let recordStart = position
        while true {
            var field = Field(start: index, length: 0)
            if index < end && bytes[index] == quote {
                // Quoted: to the closing quote; "" inside is one quote.
                field.quoted = true
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
                index = scanner.next(from: index)
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
                    column.doubles.append(contentsOf: column.integers.lazy.map { Double($0) })  // into the reservation
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

    /// Placeholders for the NULL rows before a column's first value. Appended, not assigned: a
    /// fresh array would drop the reservation `parse` made, and regrowing it costs a copy into new
    /// pages each time.
    func fillNulls(_ column: inout ChunkColumn, rows: Int) {
        switch column.kind {
        case .boolean: column.booleans.append(contentsOf: repeatElement(false, count: rows))
        case .integer, .date, .timestamp: column.integers.append(contentsOf: repeatElement(0, count: rows))
        case .double: column.doubles.append(contentsOf: repeatElement(0, count: rows))
        case .text:
            column.interner = StringInterner()
            column.dictionaryEncoded = true
            column.codes.append(contentsOf: repeatElement(0, count: rows))
        case .empty: break
        }
    }

    @inline(__always)
    func appendText(_ column: inout ChunkColumn, _ bytes: UnsafeRawBufferPointer) {
        if column.needsText { return }
        if column.dictionaryEncoded {
            appendCode(&column, column.interner!.intern(bytes))
        } else {
            if column.strings == nil { column.strings = StringArrayBuilder() }
            column.strings!.append(bytes)
        }
    }

    @inline(__always)
    func appendCode(_ column: inout ChunkColumn, _ code: UInt32) {
        column.codes.append(code)
        if code >= ChunkParser.dictionaryLimit {  // codes are dense: the count is the newest code + 1
            // Too many distinct values: the column is stored as views from here on.
            let dictionary = column.interner!.finish()
            var builder = StringArrayBuilder(capacity: column.codes.count)
            for code in column.codes { dictionary.withBytes(Int(code)) { builder.append($0) } }
            column.strings = builder
            column.interner = nil
            column.dictionaryEncoded = false
            column.codes = []
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
        let fields = UnsafeMutableBufferPointer<Field>.allocate(capacity: columnCount)
        defer { fields.deallocate() }
        var position = start
        var unescaped: [UInt8] = []
        var scanner = fieldEnds()
        while position < end {
            let (next, count) = try record(at: position, into: fields, scanner: &scanner)
            position = next
            if count == 1 && fields[0].length == 0 && columnCount > 1 { continue }
            for index in wanted {
                if index >= count {
                    appendNull(&columns[index], row: 0)
                    continue
                }
                let field = fields[index]
                if !field.quoted && isNullText(bytes + field.start, field.length) {
                    appendNull(&columns[index], row: 0)
                    continue
                }
                columns[index].count += 1
                var p = bytes + field.start
                var n = field.length
                if field.escaped {
                    unescape(field, into: &unescaped)
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
