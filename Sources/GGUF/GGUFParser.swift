/// The parsed structure of a GGUF file: everything but the tensor bytes themselves.
public struct GGUFLayout: Sendable, Equatable {
    public let version: UInt32
    public let metadata: GGUFMetadata
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Absolute file offset where the tensor-data section starts.
    public let dataOffset: Int
}

/// Limits that keep a hostile file from driving huge allocations or deep recursion.
public enum GGUFLimits {
    /// ggml's `GGUF_MAX_STRING_LENGTH`.
    public static let maxStringLength = 1 << 30
    /// ggml's `GGUF_MAX_ARRAY_ELEMENTS`.
    public static let maxArrayElements = 1 << 30
    /// Keys are at most 65535 bytes (spec).
    public static let maxKeyLength = 65535
    /// Tensor names are at most 64 bytes (spec).
    public static let maxTensorNameLength = 64
    /// ggml's `GGML_MAX_DIMS`.
    public static let maxDimensions = 4
    /// Nested arrays are allowed by the spec; no real file nests deeper than this.
    public static let maxArrayNesting = 8
    public static let defaultAlignment = 32
}

/// Parses GGUF v1–v3 (little-endian) from untrusted bytes.
///
/// Every count, length, dimension, type id and offset is checked against the bytes that remain
/// before it is used, with overflow-checked arithmetic, so no allocation is sized by an
/// unchecked number. Stricter than the spec where the spec calls a value invalid (BOOL other
/// than 0/1, invalid UTF-8, duplicate keys); more lenient than ggml about tensor placement
/// (any aligned, non-overlapping, in-file layout is accepted, not only ggml's packed order).
struct GGUFParser {
    private var reader: ByteReader
    private var version: UInt32 = 0
    private var wide: Bool { version >= 2 }

    init(bytes: UnsafeRawBufferPointer, source: String) {
        reader = ByteReader(bytes, source: source)
    }

    mutating func parse() throws -> GGUFLayout {
        try readMagic()
        try readVersion()
        let tensorCountAt = reader.position
        let rawTensorCount = try reader.readCount("tensor_count", wide: wide)
        let metadataCountAt = reader.position
        let rawMetadataCount = try reader.readCount("metadata_kv_count", wide: wide)
        let tensorCount = try bounded(
            rawTensorCount, "tensor_count", at: tensorCountAt, minimumItemSize: wide ? 33 : 25, what: "tensor infos")
        let metadataCount = try bounded(
            rawMetadataCount, "metadata_kv_count", at: metadataCountAt, minimumItemSize: wide ? 14 : 10, what: "metadata entries")

        var metadata = GGUFMetadata()
        var keyOffsets: [String: Int] = [:]
        for index in 0..<metadataCount {
            let keyOffset = reader.position
            let key = try readKey(index: index)
            if keyOffsets[key] != nil {
                throw reader.error(
                    .duplicateKey, "metadata key #\(index)", value: "\"\(key)\"", at: keyOffset,
                    expected: "unique keys (first seen at byte \(keyOffsets[key]!))")
            }
            keyOffsets[key] = keyOffset
            let field = "metadata[\"\(key)\"]"
            let type = try readValueType(field + " type")
            metadata[key] = try readValue(type, field: field, depth: 0)
        }

        let alignment = try alignment(of: metadata, at: keyOffsets["general.alignment"])

        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(tensorCount)
        var names = Set<String>()
        for index in 0..<tensorCount {
            let info = try readTensorInfo(index: index, alignment: alignment)
            guard names.insert(info.name).inserted else {
                throw reader.error(
                    .duplicateTensorName, "tensor #\(index) name", value: "\"\(info.name)\"",
                    expected: "unique tensor names")
            }
            tensors.append(info)
        }

        let dataOffset = try alignedDataOffset(alignment: alignment)
        try checkPlacement(tensors, dataOffset: dataOffset)
        return GGUFLayout(version: version, metadata: metadata, tensors: tensors, alignment: alignment, dataOffset: dataOffset)
    }

    // MARK: header

    private mutating func readMagic() throws {
        let magic = try reader.slice(4, "magic")
        guard Array(magic) == Array("GGUF".utf8) else {
            let hex = magic.map { ($0 < 16 ? "0" : "") + String($0, radix: 16, uppercase: true) }.joined(separator: " ")
            throw reader.error(.badMagic, "magic", value: "bytes \(hex)", at: 0, expected: "\"GGUF\" (47 47 55 46)")
        }
    }

    private mutating func readVersion() throws {
        let at = reader.position
        version = try reader.read(UInt32.self, "version")
        if version & 0xFFFF == 0 && version != 0 {
            throw reader.error(
                .bigEndian, "version", value: "\(version) (0x\(String(version, radix: 16)))", at: at,
                expected: "a little-endian file; big-endian GGUF is not supported")
        }
        guard (1...3).contains(version) else {
            throw reader.error(.unsupportedVersion, "version", value: "\(version)", at: at, expected: "1, 2 or 3")
        }
    }

    /// Rejects a count when the bytes after the header cannot hold that many items of at least
    /// `minimumItemSize` bytes each.
    private func bounded(_ count: UInt64, _ field: String, at: Int, minimumItemSize: Int, what: String) throws -> Int {
        let capacity = UInt64(reader.remaining / minimumItemSize)
        guard count <= capacity else {
            throw reader.error(
                .countTooLarge, field, value: "\(count)", at: at,
                expected: "at most \(capacity) \(what) in the \(reader.remaining) bytes after the header")
        }
        return Int(count)
    }

    // MARK: metadata

    private mutating func readKey(index: Int) throws -> String {
        let field = "metadata key #\(index)"
        let at = reader.position
        let length = try readLength(field, limit: GGUFLimits.maxKeyLength)
        guard length > 0 else {
            throw reader.error(.emptyKey, field, value: "an empty string", at: at, expected: "a non-empty key")
        }
        return try readUTF8(length, field: field, at: at)
    }

    private mutating func readValueType(_ field: String) throws -> GGUFValueType {
        let at = reader.position
        let raw = try reader.read(UInt32.self, field)
        guard let type = GGUFValueType(rawValue: raw) else {
            throw reader.error(.unknownValueType, field, value: "\(raw)", at: at, expected: "a value type 0…12")
        }
        return type
    }

    /// A string/array length: checked against the remaining bytes and `limit`.
    private mutating func readLength(_ field: String, limit: Int) throws -> Int {
        let at = reader.position
        let length = try reader.readCount(field + " length", wide: wide)
        guard length <= UInt64(min(limit, reader.remaining)) else {
            let reason: GGUFError.Reason = length > UInt64(limit) ? .stringTooLong : .truncated
            throw reader.error(
                reason, field + " length", value: "\(length)", at: at,
                expected: "at most \(min(limit, reader.remaining)) bytes (\(reader.remaining) left in the file, limit \(limit))")
        }
        return Int(length)
    }

    private mutating func readUTF8(_ length: Int, field: String, at: Int) throws -> String {
        let raw = try reader.slice(length, field)
        guard let string = String(validating: raw.bindMemory(to: UInt8.self), as: UTF8.self) else {
            throw reader.error(
                .invalidUTF8, field, value: "\(length) bytes that are not valid UTF-8", at: at,
                expected: "UTF-8 text")
        }
        return string
    }

    private mutating func readString(_ field: String) throws -> String {
        let at = reader.position
        let length = try readLength(field, limit: GGUFLimits.maxStringLength)
        return try readUTF8(length, field: field, at: at)
    }

    private mutating func readValue(_ type: GGUFValueType, field: String, depth: Int) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try reader.read(UInt8.self, field))
        case .int8: return .int8(try reader.read(Int8.self, field))
        case .uint16: return .uint16(try reader.read(UInt16.self, field))
        case .int16: return .int16(try reader.read(Int16.self, field))
        case .uint32: return .uint32(try reader.read(UInt32.self, field))
        case .int32: return .int32(try reader.read(Int32.self, field))
        case .uint64: return .uint64(try reader.read(UInt64.self, field))
        case .int64: return .int64(try reader.read(Int64.self, field))
        case .float32: return .float32(try reader.readFloat(field))
        case .float64: return .float64(try reader.readDouble(field))
        case .bool: return .bool(try readBool(field))
        case .string: return .string(try readString(field))
        case .array: return .array(try readArray(field: field, depth: depth + 1))
        }
    }

    private mutating func readBool(_ field: String) throws -> Bool {
        let at = reader.position
        let byte = try reader.read(UInt8.self, field)
        guard byte <= 1 else {
            throw reader.error(.invalidBool, field, value: "\(byte)", at: at, expected: "0 (false) or 1 (true)")
        }
        return byte == 1
    }

    private mutating func readArray(field: String, depth: Int) throws -> GGUFArray {
        guard depth <= GGUFLimits.maxArrayNesting else {
            throw reader.error(
                .nestingTooDeep, field, value: "arrays nested \(depth) deep",
                expected: "at most \(GGUFLimits.maxArrayNesting) levels")
        }
        let elementType = try readValueType(field + " element type")
        let at = reader.position
        let count = try reader.readCount(field + " count", wide: wide)
        let lengthWidth = wide ? 8 : 4
        let minimumElementSize = elementType.fixedSize ?? (elementType == .string ? lengthWidth : 4 + lengthWidth)
        let capacity = UInt64(min(GGUFLimits.maxArrayElements, reader.remaining / minimumElementSize))
        guard count <= capacity else {
            throw reader.error(
                .arrayTooLarge, field + " count", value: "\(count)", at: at,
                expected:
                    "at most \(capacity) \(elementType) elements (\(reader.remaining) bytes left, limit \(GGUFLimits.maxArrayElements))")
        }
        let n = Int(count)
        switch elementType {
        case .uint8: return .uint8(try readScalars(n, field))
        case .int8: return .int8(try readScalars(n, field))
        case .uint16: return .uint16(try readScalars(n, field))
        case .int16: return .int16(try readScalars(n, field))
        case .uint32: return .uint32(try readScalars(n, field))
        case .int32: return .int32(try readScalars(n, field))
        case .uint64: return .uint64(try readScalars(n, field))
        case .int64: return .int64(try readScalars(n, field))
        case .float32: return .float32(try readScalars(n, field).map { (bits: UInt32) in Float(bitPattern: bits) })
        case .float64: return .float64(try readScalars(n, field).map { (bits: UInt64) in Double(bitPattern: bits) })
        case .bool: return .bool(try (0..<n).map { i in try readBool("\(field)[\(i)]") })
        case .string: return .string(try (0..<n).map { i in try readString("\(field)[\(i)]") })
        case .array:
            // Each element is itself an array body (element type, count, items), with no tag of its own.
            return .array(try (0..<n).map { i in try readArray(field: "\(field)[\(i)]", depth: depth + 1) })
        }
    }

    private mutating func readScalars<T: FixedWidthInteger>(_ count: Int, _ field: String) throws -> [T] {
        let raw = try reader.slice(count * MemoryLayout<T>.size, field)
        return (0..<count).map { T(littleEndian: raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self)) }
    }

    private func alignment(of metadata: GGUFMetadata, at offset: Int?) throws -> Int {
        guard let value = metadata["general.alignment"] else { return GGUFLimits.defaultAlignment }
        guard case .uint32(let alignment) = value, alignment > 0, alignment & (alignment - 1) == 0 else {
            throw reader.error(
                .badAlignment, "metadata[\"general.alignment\"]", value: "\(value)", at: offset ?? 0,
                expected: "a UINT32 power of two")
        }
        return Int(alignment)
    }

    // MARK: tensor infos

    private mutating func readTensorInfo(index: Int, alignment: Int) throws -> GGUFTensorInfo {
        let at = reader.position
        let nameLength = try readLength("tensor #\(index) name", limit: GGUFLimits.maxTensorNameLength)
        guard nameLength > 0 else {
            throw reader.error(.emptyName, "tensor #\(index) name", value: "an empty string", at: at, expected: "a non-empty name")
        }
        let name = try readUTF8(nameLength, field: "tensor #\(index) name", at: at)
        let field = "tensor \"\(name)\""

        let dimsAt = reader.position
        let dimensionCount = try reader.read(UInt32.self, field + " n_dimensions")
        guard (1...UInt32(GGUFLimits.maxDimensions)).contains(dimensionCount) else {
            throw reader.error(
                .badDimensionCount, field + " n_dimensions", value: "\(dimensionCount)", at: dimsAt,
                expected: "1…\(GGUFLimits.maxDimensions)")
        }
        var dimensions: [Int64] = []
        var elements: Int64 = 1
        for d in 0..<Int(dimensionCount) {
            let dimAt = reader.position
            let raw = try reader.readCount("\(field) dimension \(d)", wide: wide)
            guard raw > 0, let dim = Int64(exactly: raw) else {
                throw reader.error(
                    .badDimension, "\(field) dimension \(d)", value: "\(raw)", at: dimAt,
                    expected: "1…\(Int64.max)")
            }
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow else {
                throw reader.error(
                    .dimensionOverflow, "\(field) dimensions", value: "\(dimensions + [dim])", at: dimAt,
                    expected: "an element count below 2^63")
            }
            elements = product
            dimensions.append(dim)
        }

        let typeAt = reader.position
        let rawType = try reader.read(UInt32.self, field + " type")
        guard let type = GGMLType(rawValue: rawType) else {
            throw reader.error(
                .unknownTensorType, field + " type", value: "\(rawType)", at: typeAt,
                expected: "a known ggml type id (\(GGMLType.all.map { "\($0.rawValue)=\($0.name)" }.joined(separator: ", ")))")
        }
        guard dimensions[0] % Int64(type.blockSize) == 0, let byteCount = type.byteCount(elements: elements) else {
            throw reader.error(
                .notBlockMultiple, field + " dimension 0", value: "\(dimensions[0])", at: dimsAt + 4,
                expected: "a multiple of \(type.name)'s block size \(type.blockSize)")
        }

        let offsetAt = reader.position
        let rawOffset = try reader.read(UInt64.self, field + " offset")
        guard let offset = Int64(exactly: rawOffset), offset % Int64(alignment) == 0 else {
            throw reader.error(
                .misalignedOffset, field + " offset", value: "\(rawOffset)", at: offsetAt,
                expected: "a multiple of the alignment \(alignment)")
        }
        return GGUFTensorInfo(
            name: name, dimensions: dimensions, type: type, offset: offset,
            elementCount: elements, byteCount: byteCount)
    }

    // MARK: data section

    private func alignedDataOffset(alignment: Int) throws -> Int {
        let position = reader.position
        let padding = (alignment - position % alignment) % alignment
        return position + padding
    }

    /// Every tensor lies inside the file, and no two overlap.
    private func checkPlacement(_ tensors: [GGUFTensorInfo], dataOffset: Int) throws {
        let fileSize = Int64(reader.bytes.count)
        let dataSize = fileSize - Int64(dataOffset)
        for tensor in tensors {
            let (end, overflow) = tensor.offset.addingReportingOverflow(tensor.byteCount)
            guard !overflow, end <= dataSize else {
                throw reader.error(
                    .outOfFile, "tensor \"\(tensor.name)\" data", value: "offset \(tensor.offset) + \(tensor.byteCount) bytes",
                    at: dataOffset,
                    expected: "data inside the file's \(max(dataSize, 0))-byte tensor-data section starting at byte \(dataOffset)")
            }
        }
        let ordered = tensors.filter { $0.byteCount > 0 }.sorted { $0.offset < $1.offset }
        for (a, b) in zip(ordered, ordered.dropFirst()) where a.offset + a.byteCount > b.offset {
            throw reader.error(
                .overlappingTensors, "tensor \"\(b.name)\" offset", value: "\(b.offset)", at: dataOffset,
                expected: "no overlap with tensor \"\(a.name)\" at \(a.offset)..<\(a.offset + a.byteCount)")
        }
    }
}
