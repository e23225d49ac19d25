/// The 13 metadata value types of GGUF (`gguf_metadata_value_type`).
public enum GGUFValueType: UInt32, Sendable, CaseIterable, CustomStringConvertible {
    case uint8 = 0
    case int8, uint16, int16, uint32, int32, float32, bool, string, array
    case uint64 = 10
    case int64, float64

    /// Encoded size of one scalar value, nil for strings and arrays.
    public var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    public var description: String {
        switch self {
        case .uint8: "UINT8"
        case .int8: "INT8"
        case .uint16: "UINT16"
        case .int16: "INT16"
        case .uint32: "UINT32"
        case .int32: "INT32"
        case .float32: "FLOAT32"
        case .bool: "BOOL"
        case .string: "STRING"
        case .array: "ARRAY"
        case .uint64: "UINT64"
        case .int64: "INT64"
        case .float64: "FLOAT64"
        }
    }
}

/// One metadata value.
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    case array(GGUFArray)
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)

    public var type: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .float32: .float32
        case .bool: .bool
        case .string: .string
        case .array: .array
        case .uint64: .uint64
        case .int64: .int64
        case .float64: .float64
        }
    }

    /// Any integer value, whatever its width (the spec lets writers pick u32 or u64 for counts).
    /// nil for non-integers and for a UINT64 above Int64.max.
    public var integerValue: Int64? {
        switch self {
        case .uint8(let v): Int64(v)
        case .int8(let v): Int64(v)
        case .uint16(let v): Int64(v)
        case .int16(let v): Int64(v)
        case .uint32(let v): Int64(v)
        case .int32(let v): Int64(v)
        case .uint64(let v): Int64(exactly: v)
        case .int64(let v): v
        default: nil
        }
    }

    /// Any numeric value as a Double (integers and floats).
    public var numberValue: Double? {
        switch self {
        case .float32(let v): Double(v)
        case .float64(let v): v
        default: integerValue.map(Double.init)
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: GGUFArray? {
        if case .array(let a) = self { return a }
        return nil
    }
}

/// A homogeneous metadata array. Nested arrays keep their own element types.
public enum GGUFArray: Sendable, Equatable {
    case uint8([UInt8])
    case int8([Int8])
    case uint16([UInt16])
    case int16([Int16])
    case uint32([UInt32])
    case int32([Int32])
    case float32([Float])
    case bool([Bool])
    case string([String])
    case array([GGUFArray])
    case uint64([UInt64])
    case int64([Int64])
    case float64([Double])

    public var elementType: GGUFValueType {
        switch self {
        case .uint8: .uint8
        case .int8: .int8
        case .uint16: .uint16
        case .int16: .int16
        case .uint32: .uint32
        case .int32: .int32
        case .float32: .float32
        case .bool: .bool
        case .string: .string
        case .array: .array
        case .uint64: .uint64
        case .int64: .int64
        case .float64: .float64
        }
    }

    public var count: Int {
        switch self {
        case .uint8(let a): a.count
        case .int8(let a): a.count
        case .uint16(let a): a.count
        case .int16(let a): a.count
        case .uint32(let a): a.count
        case .int32(let a): a.count
        case .float32(let a): a.count
        case .bool(let a): a.count
        case .string(let a): a.count
        case .array(let a): a.count
        case .uint64(let a): a.count
        case .int64(let a): a.count
        case .float64(let a): a.count
        }
    }

    public var strings: [String]? {
        if case .string(let a) = self { return a }
        return nil
    }

    public var floats: [Float]? {
        if case .float32(let a) = self { return a }
        return nil
    }

    /// Integer elements of any width, nil for non-integer arrays.
    public var integers: [Int64]? {
        switch self {
        case .uint8(let a): a.map(Int64.init)
        case .int8(let a): a.map(Int64.init)
        case .uint16(let a): a.map(Int64.init)
        case .int16(let a): a.map(Int64.init)
        case .uint32(let a): a.map(Int64.init)
        case .int32(let a): a.map(Int64.init)
        case .uint64(let a): a.map { Int64(truncatingIfNeeded: $0) }
        case .int64(let a): a
        default: nil
        }
    }
}
