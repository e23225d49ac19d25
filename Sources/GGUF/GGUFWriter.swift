#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Builds GGUF files: metadata in insertion order, tensor infos, then tensor data, each tensor
/// padded to the alignment in ggml's packed order (so ggml's strict reader accepts the output).
///
/// `version` 1 writes the u32 counts and lengths of GGUF v1, so tests can produce old files.
public struct GGUFWriter {
    public struct Tensor {
        public let name: String
        public let type: GGMLType
        public let dimensions: [Int64]
        public let data: [UInt8]
    }

    /// Where each section of the serialized file starts (for tests that damage a file on purpose).
    public struct Layout: Equatable, Sendable {
        public var metadataEntryOffsets: [Int] = []
        public var tensorInfoOffsets: [Int] = []
        public var endOfTensorInfos = 0
        public var dataOffset = 0
        public var tensorDataOffsets: [Int] = []
        public var fileSize = 0
    }

    public var version: UInt32
    public var metadata: GGUFMetadata
    public private(set) var tensors: [Tensor] = []

    public init(version: UInt32 = 3, metadata: GGUFMetadata = GGUFMetadata()) {
        self.version = version
        self.metadata = metadata
    }

    /// `general.alignment` when set (must be a UINT32 power of two), else 32.
    public var alignment: Int {
        if case .uint32(let a)? = metadata["general.alignment"], a > 0, a & (a - 1) == 0 { return Int(a) }
        return GGUFLimits.defaultAlignment
    }

    public mutating func addTensor(name: String, type: GGMLType, dimensions: [Int64], data: [UInt8]) throws {
        let elements = dimensions.reduce(Int64(1)) { $0.multipliedReportingOverflow(by: $1).partialValue }
        guard !dimensions.isEmpty, dimensions.count <= GGUFLimits.maxDimensions, dimensions.allSatisfy({ $0 > 0 }),
            let bytes = type.byteCount(elements: elements), bytes == Int64(data.count),
            !tensors.contains(where: { $0.name == name })
        else {
            throw GGUFError(
                .badDimension, source: "<writer>", field: "tensor \"\(name)\"", value: "\(type) \(dimensions) with \(data.count) bytes",
                offset: 0,
                expected:
                    "a new name, 1–4 positive dimensions whose first is a multiple of \(type.blockSize), and exactly the bytes they need")
        }
        tensors.append(Tensor(name: name, type: type, dimensions: dimensions, data: data))
    }

    /// The whole file in memory, and where its sections start.
    public func serialize() -> (bytes: [UInt8], layout: Layout) {
        var out: [UInt8] = []
        var layout = Layout()
        out.append(contentsOf: Array("GGUF".utf8))
        append(version, to: &out)
        appendCount(tensors.count, to: &out)
        appendCount(metadata.count, to: &out)
        for entry in metadata.entries {
            layout.metadataEntryOffsets.append(out.count)
            appendString(entry.key, to: &out)
            append(entry.value.type.rawValue, to: &out)
            appendValue(entry.value, to: &out)
        }
        var offset = 0
        for tensor in tensors {
            layout.tensorInfoOffsets.append(out.count)
            appendString(tensor.name, to: &out)
            append(UInt32(tensor.dimensions.count), to: &out)
            for dim in tensor.dimensions { appendCount(Int(dim), to: &out) }
            append(tensor.type.rawValue, to: &out)
            append(UInt64(offset), to: &out)
            offset += padded(tensor.data.count)
        }
        layout.endOfTensorInfos = out.count
        out.append(contentsOf: repeatElement(0, count: padded(out.count) - out.count))
        layout.dataOffset = out.count
        for tensor in tensors {
            layout.tensorDataOffsets.append(out.count)
            out.append(contentsOf: tensor.data)
            out.append(contentsOf: repeatElement(0, count: padded(tensor.data.count) - tensor.data.count))
        }
        layout.fileSize = out.count
        return (out, layout)
    }

    /// Writes the file atomically (`AtomicFile`): to a temporary file beside `path`, flushed, then renamed.
    public func write(to path: String) throws {
        let (bytes, _) = serialize()
        do throws(AtomicFile.Failure) {
            try AtomicFile.write(bytes, to: path)
        } catch {
            switch error {
            case .create(let temporary, let reason): throw writeError(path, "cannot create \(temporary): \(reason)")
            case .write(let reason): throw writeError(path, "cannot write: \(reason)")
            case .rename(_, let reason): throw writeError(path, "cannot rename into place: \(reason)")
            }
        }
    }

    private func writeError(_ path: String, _ message: String) -> GGUFError {
        GGUFError(.cannotOpen, source: path, field: "file", value: message, offset: 0, expected: "a writable path")
    }

    private func padded(_ n: Int) -> Int { (n + alignment - 1) / alignment * alignment }

    // MARK: encoding

    private func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out.append(contentsOf: $0) }
    }

    private func appendCount(_ count: Int, to out: inout [UInt8]) {
        if version >= 2 { append(UInt64(count), to: &out) } else { append(UInt32(truncatingIfNeeded: count), to: &out) }
    }

    private func appendString(_ string: String, to out: inout [UInt8]) {
        let utf8 = Array(string.utf8)
        appendCount(utf8.count, to: &out)
        out.append(contentsOf: utf8)
    }

    private func appendValue(_ value: GGUFValue, to out: inout [UInt8]) {
        switch value {
        case .uint8(let v): append(v, to: &out)
        case .int8(let v): append(v, to: &out)
        case .uint16(let v): append(v, to: &out)
        case .int16(let v): append(v, to: &out)
        case .uint32(let v): append(v, to: &out)
        case .int32(let v): append(v, to: &out)
        case .uint64(let v): append(v, to: &out)
        case .int64(let v): append(v, to: &out)
        case .float32(let v): append(v.bitPattern, to: &out)
        case .float64(let v): append(v.bitPattern, to: &out)
        case .bool(let v): out.append(v ? 1 : 0)
        case .string(let v): appendString(v, to: &out)
        case .array(let a): appendArray(a, to: &out)
        }
    }

    private func appendArray(_ array: GGUFArray, to out: inout [UInt8]) {
        append(array.elementType.rawValue, to: &out)
        appendCount(array.count, to: &out)
        switch array {
        case .uint8(let a): for element in a { append(element, to: &out) }
        case .int8(let a): for element in a { append(element, to: &out) }
        case .uint16(let a): for element in a { append(element, to: &out) }
        case .int16(let a): for element in a { append(element, to: &out) }
        case .uint32(let a): for element in a { append(element, to: &out) }
        case .int32(let a): for element in a { append(element, to: &out) }
        case .uint64(let a): for element in a { append(element, to: &out) }
        case .int64(let a): for element in a { append(element, to: &out) }
        case .float32(let a): for element in a { append(element.bitPattern, to: &out) }
        case .float64(let a): for element in a { append(element.bitPattern, to: &out) }
        case .bool(let a): for element in a { out.append(element ? 1 : 0) }
        case .string(let a): for element in a { appendString(element, to: &out) }
        case .array(let a): for element in a { appendArray(element, to: &out) }
        }
    }
}
