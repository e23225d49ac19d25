import Columns

/// A column's values widened to the representation a kernel computes in: integers (and dates,
/// timestamps) as Int64, numbers as Double. Already-wide columns are returned without copying.
extension Column {
    func int64Values() -> [Int64] {
        switch storage {
        case .int64(let values), .timestamp(let values): return values
        case .int32(let values), .date(let values): return values.map { Int64($0) }
        case .int16(let values): return values.map { Int64($0) }
        case .int8(let values): return values.map { Int64($0) }
        case .boolean(let values): return values.map { $0 ? 1 : 0 }
        case .float32(let values): return values.map { Int64($0) }
        case .float64(let values): return values.map { Int64($0) }
        case .string, .dictionary: preconditionFailure("int64Values() of a string column")
        }
    }

    func doubleValues() -> [Double] {
        switch storage {
        case .float64(let values): return values
        case .float32(let values): return values.map { Double($0) }
        case .int64(let values), .timestamp(let values): return values.map { Double($0) }
        case .int32(let values), .date(let values): return values.map { Double($0) }
        case .int16(let values): return values.map { Double($0) }
        case .int8(let values): return values.map { Double($0) }
        case .boolean(let values): return values.map { $0 ? 1 : 0 }
        case .string, .dictionary: preconditionFailure("doubleValues() of a string column")
        }
    }

    func booleanValues() -> [Bool] {
        if case .boolean(let values) = storage { return values }
        preconditionFailure("booleanValues() of a \(dataType) column")
    }
}

/// Combined validity of inputs whose nulls propagate (NULL op x = NULL).
func combinedValidity(_ columns: [Column], count: Int) -> Validity? {
    let bitmaps = columns.compactMap(\.validity)
    guard var result = bitmaps.first else { return nil }
    for bitmap in bitmaps.dropFirst() {
        var words = result.words
        for index in words.indices { words[index] &= bitmap.words[index] }
        result = Validity(words: words, count: count)
    }
    return result
}

/// A column holding one value `count` times.
func broadcast(_ value: Value, type: DataType, count: Int) -> Column {
    if value.isNull { return Column.nulls(type, count: count) }
    switch type {
    case .boolean:
        if case .boolean(let flag) = value { return Column(.boolean([Bool](repeating: flag, count: count))) }
    case .int8, .int16, .int32, .int64:
        if case .integer(let integer) = value { return Column(.int64([Int64](repeating: integer, count: count))) }
        if case .double(let double) = value { return Column(.int64([Int64](repeating: Int64(double), count: count))) }
    case .float32, .float64:
        if case .double(let double) = value { return Column(.float64([Double](repeating: double, count: count))) }
        if case .integer(let integer) = value { return Column(.float64([Double](repeating: Double(integer), count: count))) }
    case .string:
        if case .string(let text) = value {
            let single = StringArray([text])
            return Column(.dictionary(codes: [UInt32](repeating: 0, count: count), values: single))
        }
    case .date:
        if case .date(let days) = value { return Column(.date([Int32](repeating: days, count: count))) }
    case .timestamp:
        if case .timestamp(let micros) = value { return Column(.timestamp([Int64](repeating: micros, count: count))) }
    }
    preconditionFailure("literal \(value) does not match type \(type)")
}
