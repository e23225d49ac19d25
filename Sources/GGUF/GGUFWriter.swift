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

    /// A tensor of a file written piece by piece (`write(to:tensors:produce:)`): its bytes come later.
    public struct TensorDescription: Sendable, Equatable {
        public let name: String
        public let type: GGMLType
        public let dimensions: [Int64]
        public let byteCount: Int

        public init(name: String, type: GGMLType, dimensions: [Int64]) throws {
            let elements = dimensions.reduce(Int64(1)) { $0.multipliedReportingOverflow(by: $1).partialValue }
            guard !dimensions.isEmpty, dimensions.count <= GGUFLimits.maxDimensions, dimensions.allSatisfy({ $0 > 0 }),
                let bytes = type.byteCount(elements: elements), let count = Int(exactly: bytes)
            else {
                throw GGUFError(
                    .badDimension, source: "<writer>", field: "tensor \"\(name)\"", value: "\(type) \(dimensions)", offset: 0,
                    expected: "1–4 positive dimensions whose first is a multiple of \(type.blockSize)")
            }
            self.name = name
            self.type = type
            self.dimensions = dimensions
            self.byteCount = count
        }
    }

    /// The whole file in memory, and where its sections start.
    public func serialize() -> (bytes: [UInt8], layout: Layout) {
        var (out, layout) = header(for: tensors.map { ($0.name, $0.type, $0.dimensions, $0.data.count) })
        for tensor in tensors {
            layout.tensorDataOffsets.append(out.count)
            out.append(contentsOf: tensor.data)
            out.append(contentsOf: repeatElement(0, count: padded(tensor.data.count) - tensor.data.count))
        }
        layout.fileSize = out.count
        return (out, layout)
    }

    /// Everything before the tensor data: magic, counts, metadata, tensor infos (data offsets in
    /// the order given, each padded to the alignment), padding up to the data section.
    private func header(for tensors: [(name: String, type: GGMLType, dimensions: [Int64], byteCount: Int)]) -> (
        bytes: [UInt8], layout: Layout
    ) {
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
            offset += padded(tensor.byteCount)
        }
        layout.endOfTensorInfos = out.count
        out.append(contentsOf: repeatElement(0, count: padded(out.count) - out.count))
        layout.dataOffset = out.count
        return (out, layout)
    }

    /// Writes a file whose tensor data is produced one tensor at a time, so that no more than one
    /// tensor's bytes need to exist at once (merging an adapter into a model): the metadata of this
    /// writer, then `tensors` (this writer's own `tensors` are not written). `produce(i, emit)` must
    /// pass tensor i's bytes to `emit`, in one or more pieces, exactly `tensors[i].byteCount` in
    /// all. Atomic like `write(to:)`; an error `produce` throws is rethrown and nothing is written.
    public func write(
        to path: String, tensors: [TensorDescription],
        produce: (_ index: Int, _ emit: (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        var names = Set<String>()
        if let duplicate = tensors.first(where: { !names.insert($0.name).inserted }) {
            throw GGUFError(
                .duplicateTensorName, source: path, field: "tensor \"\(duplicate.name)\"", value: "a second tensor of that name", offset: 0,
                expected: "unique tensor names")
        }
        let (header, _) = header(for: tensors.map { ($0.name, $0.type, $0.dimensions, $0.byteCount) })
        do {
            try AtomicFile.write(to: path) { sink in
                try sink.write(header)
                for (index, tensor) in tensors.enumerated() {
                    var emitted = 0
                    try produce(index) { bytes in
                        guard emitted + bytes.count <= tensor.byteCount else {
                            throw GGUFError(
                                .badDimension, source: path, field: "tensor \"\(tensor.name)\"",
                                value: "more than \(tensor.byteCount) bytes",
                                offset: 0, expected: "exactly \(tensor.byteCount) bytes")
                        }
                        try sink.write(bytes)
                        emitted += bytes.count
                    }
                    guard emitted == tensor.byteCount else {
                        throw GGUFError(
                            .badDimension, source: path, field: "tensor \"\(tensor.name)\"", value: "\(emitted) bytes", offset: 0,
                            expected: "exactly \(tensor.byteCount) bytes")
                    }
                    try sink.write([UInt8](repeating: 0, count: padded(tensor.byteCount) - tensor.byteCount))
                }
            }
        } catch let failure as AtomicFile.Failure {
            throw describe(failure, path)
        }
    }

    /// Writes the file atomically (`AtomicFile`): to a temporary file beside `path`, flushed, then renamed.
    public func write(to path: String) throws {
        let (bytes, _) = serialize()
        do throws(AtomicFile.Failure) {
            try AtomicFile.write(bytes, to: path)
        } catch {
            throw describe(error, path)
        }
    }

    private func describe(_ failure: AtomicFile.Failure, _ path: String) -> GGUFError {
        switch failure {
        case .create(let temporary, let reason): writeError(path, "cannot create \(temporary): \(reason)")
        case .write(let reason): writeError(path, "cannot write: \(reason)")
        case .rename(_, let reason): writeError(path, "cannot rename into place: \(reason)")
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
