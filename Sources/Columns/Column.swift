/// How a column's values are stored. Booleans are a byte per value (kernels compare and combine
/// them lane-wise; validity is the only bitmap). A string column is either a `StringArray` or,
/// for low-cardinality data, dictionary-encoded: a code per row into a small `StringArray` of
/// distinct values (group-by and joins then work on the codes).
public enum ColumnStorage: Sendable {
    case boolean([Bool])
    case int8([Int8])
    case int16([Int16])
    case int32([Int32])
    case int64([Int64])
    case float32([Float])
    case float64([Double])
    case string(StringArray)
    case dictionary(codes: [UInt32], values: StringArray)
    case date([Int32])
    case timestamp([Int64])
}

/// One column of a `RecordBatch`: values and, when any are null, a validity bitmap. The value
/// stored under a null row is unspecified (kernels must not read meaning into it).
public struct Column: Sendable {
    public let storage: ColumnStorage
    public let validity: Validity?
    public let count: Int

    public init(_ storage: ColumnStorage, validity: Validity? = nil) {
        self.storage = storage
        let count: Int
        switch storage {
        case .boolean(let values): count = values.count
        case .int8(let values): count = values.count
        case .int16(let values): count = values.count
        case .int32(let values): count = values.count
        case .int64(let values): count = values.count
        case .float32(let values): count = values.count
        case .float64(let values): count = values.count
        case .string(let values): count = values.count
        case .dictionary(let codes, _): count = codes.count
        case .date(let values): count = values.count
        case .timestamp(let values): count = values.count
        }
        precondition(validity == nil || validity!.count == count, "validity has \(validity!.count) rows, values \(count)")
        self.count = count
        // A bitmap with no nulls is dropped so that `validity == nil` means "no nulls" everywhere.
        self.validity = validity.flatMap { $0.nullCount == 0 ? nil : $0 }
    }

    public var dataType: DataType {
        switch storage {
        case .boolean: .boolean
        case .int8: .int8
        case .int16: .int16
        case .int32: .int32
        case .int64: .int64
        case .float32: .float32
        case .float64: .float64
        case .string, .dictionary: .string
        case .date: .date
        case .timestamp: .timestamp
        }
    }

    public var nullCount: Int { validity?.nullCount ?? 0 }

    @inline(__always)
    public func isNull(_ row: Int) -> Bool { validity.map { !$0.isValid(row) } ?? false }

    /// Row `row` as a `Value` (slow path: printing, tests, constant folding).
    public func value(at row: Int) -> Value {
        if isNull(row) { return .null }
        switch storage {
        case .boolean(let values): return .boolean(values[row])
        case .int8(let values): return .integer(Int64(values[row]))
        case .int16(let values): return .integer(Int64(values[row]))
        case .int32(let values): return .integer(Int64(values[row]))
        case .int64(let values): return .integer(values[row])
        case .float32(let values): return .double(Double(values[row]))
        case .float64(let values): return .double(values[row])
        case .string(let values): return .string(values.string(at: row))
        case .dictionary(let codes, let values): return .string(values.string(at: Int(codes[row])))
        case .date(let values): return .date(values[row])
        case .timestamp(let values): return .timestamp(values[row])
        }
    }

    /// All null, of the given type.
    public static func nulls(_ type: DataType, count: Int) -> Column {
        let validity = Validity(count: count, allValid: false)
        switch type {
        case .boolean: return Column(.boolean(Array(repeating: false, count: count)), validity: validity)
        case .int8: return Column(.int8(Array(repeating: 0, count: count)), validity: validity)
        case .int16: return Column(.int16(Array(repeating: 0, count: count)), validity: validity)
        case .int32: return Column(.int32(Array(repeating: 0, count: count)), validity: validity)
        case .int64: return Column(.int64(Array(repeating: 0, count: count)), validity: validity)
        case .float32: return Column(.float32(Array(repeating: 0, count: count)), validity: validity)
        case .float64: return Column(.float64(Array(repeating: 0, count: count)), validity: validity)
        case .string:
            return Column(.string(StringArray(views: Array(repeating: .empty, count: count), buffers: [])), validity: validity)
        case .date: return Column(.date(Array(repeating: 0, count: count)), validity: validity)
        case .timestamp: return Column(.timestamp(Array(repeating: 0, count: count)), validity: validity)
        }
    }

    /// A column from values (slow path: tests, literals, small results). Integers become BIGINT,
    /// doubles DOUBLE, unless `type` says otherwise; a value that does not fit `type` is a
    /// programming error.
    public static func from(_ values: [Value], type: DataType) -> Column {
        let validity = Validity(values.map { !$0.isNull })
        func number(_ value: Value) -> Double {
            switch value {
            case .integer(let integer): Double(integer)
            case .double(let double): double
            default: 0
            }
        }
        func integer(_ value: Value) -> Int64 {
            switch value {
            case .integer(let integer): integer
            case .double(let double): Int64(double)
            case .date(let days): Int64(days)
            case .timestamp(let micros): micros
            default: 0
            }
        }
        switch type {
        case .boolean: return Column(.boolean(values.map { if case .boolean(let b) = $0 { b } else { false } }), validity: validity)
        case .int8: return Column(.int8(values.map { Int8(integer($0)) }), validity: validity)
        case .int16: return Column(.int16(values.map { Int16(integer($0)) }), validity: validity)
        case .int32: return Column(.int32(values.map { Int32(integer($0)) }), validity: validity)
        case .int64: return Column(.int64(values.map(integer)), validity: validity)
        case .float32: return Column(.float32(values.map { Float(number($0)) }), validity: validity)
        case .float64: return Column(.float64(values.map(number)), validity: validity)
        case .string: return Column(.string(StringArray(values.map { if case .string(let s) = $0 { s } else { "" } })), validity: validity)
        case .date: return Column(.date(values.map { Int32(integer($0)) }), validity: validity)
        case .timestamp: return Column(.timestamp(values.map(integer)), validity: validity)
        }
    }
}
