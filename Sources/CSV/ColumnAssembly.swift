import Columns

/// A chunk's parsed values as a `Column` of the column's final type (widened where the chunk
/// read it narrower), with its validity.
enum ColumnAssembly {
    static func kind(of type: DataType) -> FieldKind {
        switch type {
        case .boolean: .boolean
        case .int8, .int16, .int32, .int64: .integer
        case .float32, .float64: .double
        case .date: .date
        case .timestamp: .timestamp
        case .string: .text
        }
    }

    static func column(_ parsed: ChunkColumn, kind: FieldKind, rows: Int, dictionary: (StringArray, [UInt32])?) -> Column {
        var validity: Validity?
        if !parsed.nullRows.isEmpty {
            var flags = Validity(count: rows, allValid: true)
            for row in parsed.nullRows where Int(row) < rows { flags.set(Int(row), valid: false) }
            validity = flags
        }
        if parsed.kind == .empty || rows == 0 { return Column.nulls(kind.dataType, count: rows) }
        switch kind {
        case .empty, .text:
            if let (values, remap) = dictionary {
                let codes = remap.isEmpty ? parsed.codes : parsed.codes.map { remap[Int($0)] }
                return Column(.dictionary(codes: codes, values: values), validity: validity)
            }
            if var interner = parsed.interner {
                let local = interner.finish()
                let views = local.views
                return Column(.string(StringArray(views: parsed.codes.map { views[Int($0)] }, buffers: local.buffers)), validity: validity)
            }
            var builder = parsed.strings ?? StringArrayBuilder()
            return Column(.string(builder.finish()), validity: validity)
        case .boolean: return Column(.boolean(parsed.booleans), validity: validity)
        case .integer: return Column(.int64(parsed.integers), validity: validity)
        case .double:
            return Column(.float64(parsed.kind == .integer ? parsed.integers.map { Double($0) } : parsed.doubles), validity: validity)
        case .date: return Column(.date(parsed.integers.map { Int32(truncatingIfNeeded: $0) }), validity: validity)
        case .timestamp:
            return Column(
                .timestamp(parsed.kind == .date ? parsed.integers.map { $0 * 86_400_000_000 } : parsed.integers), validity: validity)
        }
    }
}
