/// Row selection and concatenation: what filters, joins and sorts do to every column they carry.
extension Column {
    /// Rows `indices` in order (an index may repeat). Strings keep their buffers; dictionaries
    /// keep their values and gather only codes.
    public func gather(_ indices: UnsafeBufferPointer<Int32>) -> Column {
        func pick<T>(_ values: [T]) -> [T] {
            values.withUnsafeBufferPointer { source in
                [T](unsafeUninitializedCapacity: indices.count) { target, initialized in
                    for position in 0..<indices.count { (target.baseAddress! + position).initialize(to: source[Int(indices[position])]) }
                    initialized = indices.count
                }
            }
        }
        let storage: ColumnStorage
        switch self.storage {
        case .boolean(let values): storage = .boolean(pick(values))
        case .int8(let values): storage = .int8(pick(values))
        case .int16(let values): storage = .int16(pick(values))
        case .int32(let values): storage = .int32(pick(values))
        case .int64(let values): storage = .int64(pick(values))
        case .float32(let values): storage = .float32(pick(values))
        case .float64(let values): storage = .float64(pick(values))
        case .string(let values): storage = .string(StringArray(views: pick(values.views), buffers: values.buffers))
        case .dictionary(let codes, let values): storage = .dictionary(codes: pick(codes), values: values)
        case .date(let values): storage = .date(pick(values))
        case .timestamp(let values): storage = .timestamp(pick(values))
        }
        guard let validity else { return Column(storage) }
        var words = [UInt64](repeating: 0, count: (indices.count + 63) >> 6)
        for position in 0..<indices.count where validity.isValid(Int(indices[position])) {
            words[position >> 6] |= UInt64(1) << UInt64(position & 63)
        }
        return Column(storage, validity: Validity(words: words, count: indices.count))
    }

    /// Rows `indices`, where -1 means a NULL row (the unmatched side of an outer join).
    public func gatherOrNull(_ indices: UnsafeBufferPointer<Int32>) -> Column {
        var safe = [Int32](repeating: 0, count: indices.count)
        var words = [UInt64](repeating: 0, count: (indices.count + 63) >> 6)
        for position in 0..<indices.count {
            let index = indices[position]
            if index >= 0 {
                safe[position] = index
                if validity?.isValid(Int(index)) ?? true { words[position >> 6] |= UInt64(1) << UInt64(position & 63) }
            }
        }
        let gathered = safe.withUnsafeBufferPointer { Column(self.storage, validity: nil).gather($0) }
        return Column(gathered.storage, validity: Validity(words: words, count: indices.count))
    }

    /// Rows `range` (a copy of that slice).
    public func slice(_ range: Range<Int>) -> Column {
        let indices = range.map { Int32($0) }
        return indices.withUnsafeBufferPointer { gather($0) }
    }

    /// The columns one after another; all must have the same logical type. Dictionary columns
    /// sharing one dictionary stay encoded; otherwise strings are concatenated as views.
    public static func concatenate(_ parts: [Column]) -> Column {
        precondition(!parts.isEmpty, "nothing to concatenate")
        if parts.count == 1 { return parts[0] }
        let total = parts.reduce(0) { $0 + $1.count }
        var validity: Validity?
        if parts.contains(where: { $0.validity != nil }) {
            var flags = Validity(count: total, allValid: true)
            var offset = 0
            for part in parts {
                if let partValidity = part.validity {
                    for row in 0..<part.count where !partValidity.isValid(row) { flags.set(offset + row, valid: false) }
                }
                offset += part.count
            }
            validity = flags
        }
        func join<T>(_ extract: (Column) -> [T]) -> [T] {
            var result = [T]()
            result.reserveCapacity(total)
            for part in parts { result.append(contentsOf: extract(part)) }
            return result
        }
        switch parts[0].storage {
        case .boolean: return Column(.boolean(join { if case .boolean(let v) = $0.storage { v } else { [] } }), validity: validity)
        case .int8: return Column(.int8(join { if case .int8(let v) = $0.storage { v } else { [] } }), validity: validity)
        case .int16: return Column(.int16(join { if case .int16(let v) = $0.storage { v } else { [] } }), validity: validity)
        case .int32: return Column(.int32(join { if case .int32(let v) = $0.storage { v } else { [] } }), validity: validity)
        case .int64: return Column(.int64(join { if case .int64(let v) = $0.storage { v } else { [] } }), validity: validity)
        case .float32: return Column(.float32(join { if case .float32(let v) = $0.storage { v } else { [] } }), validity: validity)
        case .float64: return Column(.float64(join { if case .float64(let v) = $0.storage { v } else { [] } }), validity: validity)
        case .date: return Column(.date(join { if case .date(let v) = $0.storage { v } else { [] } }), validity: validity)
        case .timestamp: return Column(.timestamp(join { if case .timestamp(let v) = $0.storage { v } else { [] } }), validity: validity)
        case .string, .dictionary:
            if case .dictionary(_, let first) = parts[0].storage,
                parts.allSatisfy({ if case .dictionary(_, let values) = $0.storage { values.sharesStorage(with: first) } else { false } })
            {
                return Column(
                    .dictionary(codes: join { if case .dictionary(let codes, _) = $0.storage { codes } else { [] } }, values: first),
                    validity: validity)
            }
            var strings = StringArray()
            for part in parts { strings.append(contentsOf: part.decodedStrings()) }
            return Column(.string(strings), validity: validity)
        }
    }

    /// A string column's values as a `StringArray` (dictionary codes resolved to views).
    public func decodedStrings() -> StringArray {
        switch storage {
        case .string(let values): return values
        case .dictionary(let codes, let values):
            return values.views.withUnsafeBufferPointer { dictionary in
                let views = codes.map { dictionary[Int($0)] }
                return StringArray(views: views, buffers: values.buffers)
            }
        default: preconditionFailure("decodedStrings() on a \(dataType) column")
        }
    }
}

extension StringArray {
    /// Whether both arrays are the same dictionary (same views and buffers), so codes mean the same.
    public func sharesStorage(with other: StringArray) -> Bool {
        guard count == other.count, buffers.count == other.buffers.count else { return false }
        for (a, b) in zip(buffers, other.buffers) where a !== b { return false }
        return views.withUnsafeBufferPointer { a in
            other.views.withUnsafeBufferPointer { b in a.baseAddress == b.baseAddress || a.elementsEqual(b) }
        }
    }
}
