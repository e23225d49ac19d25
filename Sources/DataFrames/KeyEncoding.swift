import Columns

/// Turns the key columns of a group-by, join or distinct into fixed-width 64-bit words with the
/// property equal keys ⇔ equal words, and back.
///
/// Each key column becomes a field: integers, dates and timestamps as their value, doubles as their
/// bits (−0 and NaN canonical), strings as dictionary codes (one dictionary for every batch of
/// every input: shared when the reader made one, else interned here). When the fields' value
/// ranges fit in 64 bits together (db-benchmark's id1…id6: 7+7+17+7+7+17 bits) they are packed
/// into one word, so the hash table compares one integer per probe; otherwise each field is a
/// word, plus one word of null flags when a key can be NULL.
struct KeyEncoding {
    enum FieldKind {
        case integer(DataType)
        case double
        case dictionary(StringArray)
    }

    struct Field {
        var kind: FieldKind
        var minimum: Int64
        var maximum: Int64
        var nullable: Bool
        var shift: UInt64 = 0
        var bits: UInt64 = 0
    }

    private(set) var fields: [Field]
    let packed: Bool
    let width: Int
    let nullWord: Bool
    /// Bits the packed word uses (every word is below 2^packedBits); 64 when not packed.
    var packedBits = 64

    /// `batches[b]` holds the k key columns of batch b (batches of all inputs being matched).
    /// Returns the encoding and the key columns rewritten so strings are codes of one dictionary.
    static func make(_ batches: [[Column]], types: [DataType]) -> (KeyEncoding, [[Column]]) {
        var batches = batches
        var fields: [Field] = []
        for (position, type) in types.enumerated() {
            let columns = batches.map { $0[position] }
            let nullable = columns.contains { $0.validity != nil }
            if type == .string {
                let shared = sharedDictionary(columns)
                let dictionary: StringArray
                if let shared {
                    dictionary = shared
                } else {
                    var interner = StringInterner()
                    for batch in batches.indices {
                        let column = batches[batch][position]
                        let codes = interner.intern(column)
                        batches[batch][position] = Column(.dictionary(codes: codes, values: StringArray()), validity: column.validity)
                    }
                    dictionary = interner.finish()
                    for batch in batches.indices {
                        if case .dictionary(let codes, _) = batches[batch][position].storage {
                            batches[batch][position] = Column(
                                .dictionary(codes: codes, values: dictionary), validity: batches[batch][position].validity)
                        }
                    }
                }
                fields.append(
                    Field(kind: .dictionary(dictionary), minimum: 0, maximum: Int64(max(0, dictionary.count - 1)), nullable: nullable))
            } else if type.isFloatingPoint {
                fields.append(Field(kind: .double, minimum: .min, maximum: .max, nullable: nullable))
            } else {
                var low = Int64.max, high = Int64.min
                for column in columns where column.count > 0 {
                    let values = column.int64Values()
                    values.withUnsafeBufferPointer { values in
                        for value in values {
                            low = Swift.min(low, value)
                            high = Swift.max(high, value)
                        }
                    }
                }
                if low > high { (low, high) = (0, 0) }
                fields.append(Field(kind: .integer(type), minimum: low, maximum: high, nullable: nullable))
            }
        }
        // Bits per field: the range plus one code for NULL; a full 64-bit range never packs.
        var total: UInt64 = 0
        var packable = true
        for index in fields.indices {
            let (span, overflow) = fields[index].maximum.subtractingReportingOverflow(fields[index].minimum)
            if overflow || span < 0 || UInt64(span) >= UInt64(1) << 62 {
                packable = false
                continue
            }
            let codes = UInt64(span) + 1 + (fields[index].nullable ? 1 : 0)
            let bits = UInt64(64 - (codes - 1).leadingZeroBitCount)
            fields[index].shift = total
            fields[index].bits = max(bits, 1)
            total += max(bits, 1)
        }
        packable = packable && total <= 64
        let nullWord = !packable && fields.contains { $0.nullable }
        var encoding = KeyEncoding(
            fields: fields, packed: packable, width: packable ? 1 : fields.count + (nullWord ? 1 : 0), nullWord: nullWord)
        if packable { encoding.packedBits = Int(total) }
        return (encoding, batches)
    }

    static func sharedDictionary(_ columns: [Column]) -> StringArray? {
        var first: StringArray?
        for column in columns {
            guard case .dictionary(_, let values) = column.storage else { return nil }
            if let first {
                if !values.sharesStorage(with: first) { return nil }
            } else {
                first = values
            }
        }
        return first ?? StringArray()
    }

    /// Words for every row of one batch's key columns: `rows × width`, row-major.
    func encode(_ columns: [Column], rows: Int) -> [UInt64] {
        var words = [UInt64](repeating: 0, count: rows * width)
        words.withUnsafeMutableBufferPointer { out in
            for (position, field) in fields.enumerated() {
                let column = columns[position]
                let validity = column.validity
                let stride = width
                let offset = packed ? 0 : position
                func store(_ row: Int, _ raw: UInt64) {
                    if packed {
                        out[row] |= raw << field.shift
                    } else {
                        out[row * stride + offset] = raw
                    }
                }
                let nullBias: UInt64 = field.nullable ? 1 : 0
                switch field.kind {
                case .dictionary:
                    guard case .dictionary(let codes, _) = column.storage else { preconditionFailure("key strings were not encoded") }
                    codes.withUnsafeBufferPointer { codes in
                        for row in 0..<rows { store(row, UInt64(codes[row]) + nullBias) }
                    }
                case .double:
                    let values = column.doubleValues()
                    values.withUnsafeBufferPointer { values in
                        for row in 0..<rows {
                            let value = values[row]
                            store(row, value.isNaN ? Double.nan.bitPattern : (value == 0 ? 0 : value.bitPattern))
                        }
                    }
                case .integer:
                    let values = column.int64Values()
                    let minimum = field.minimum
                    values.withUnsafeBufferPointer { values in
                        if packed {
                            for row in 0..<rows { out[row] |= (UInt64(bitPattern: values[row] &- minimum) + nullBias) << field.shift }
                        } else {
                            for row in 0..<rows { out[row * stride + offset] = UInt64(bitPattern: values[row]) }
                        }
                    }
                }
                if let validity {
                    for row in 0..<rows where !validity.isValid(row) {
                        if packed {
                            let mask = (field.bits == 64 ? ~0 : (UInt64(1) << field.bits) - 1) << field.shift
                            out[row] &= ~mask
                        } else {
                            out[row * stride + offset] = 0
                            out[row * stride + fields.count] |= UInt64(1) << UInt64(position)
                        }
                    }
                }
            }
        }
        return words
    }

    /// The key columns of `count` groups whose words are `keys` (row-major, `width` a row).
    func decode(_ keys: [UInt64], count: Int) -> [Column] {
        var columns: [Column] = []
        for (position, field) in fields.enumerated() {
            var raw = [UInt64](repeating: 0, count: count)
            var validity: Validity?
            var nulls = [Bool](repeating: false, count: count)
            keys.withUnsafeBufferPointer { keys in
                for row in 0..<count {
                    if packed {
                        let mask: UInt64 = field.bits == 64 ? ~0 : (UInt64(1) << field.bits) - 1
                        var value = (keys[row] >> field.shift) & mask
                        if field.nullable {
                            if value == 0 { nulls[row] = true } else { value -= 1 }
                        }
                        raw[row] = value
                    } else {
                        raw[row] = keys[row * width + position]
                        if nullWord && keys[row * width + fields.count] >> UInt64(position) & 1 == 1 { nulls[row] = true }
                    }
                }
            }
            if nulls.contains(true) { validity = Validity(nulls.map { !$0 }) }
            switch field.kind {
            case .dictionary(let dictionary):
                columns.append(
                    Column(.dictionary(codes: raw.map { UInt32(truncatingIfNeeded: $0) }, values: dictionary), validity: validity))
            case .double:
                columns.append(Column(.float64(raw.map { Double(bitPattern: $0) }), validity: validity))
            case .integer(let type):
                let values = packed ? raw.map { Int64(bitPattern: $0) &+ field.minimum } : raw.map { Int64(bitPattern: $0) }
                columns.append(KeyEncoding.integerColumn(values, type: type, validity: validity))
            }
        }
        return columns
    }

    static func integerColumn(_ values: [Int64], type: DataType, validity: Validity?) -> Column {
        switch type {
        case .boolean: Column(.boolean(values.map { $0 != 0 }), validity: validity)
        case .int8: Column(.int8(values.map { Int8(truncatingIfNeeded: $0) }), validity: validity)
        case .int16: Column(.int16(values.map { Int16(truncatingIfNeeded: $0) }), validity: validity)
        case .int32: Column(.int32(values.map { Int32(truncatingIfNeeded: $0) }), validity: validity)
        case .date: Column(.date(values.map { Int32(truncatingIfNeeded: $0) }), validity: validity)
        case .timestamp: Column(.timestamp(values), validity: validity)
        default: Column(.int64(values), validity: validity)
        }
    }
}
