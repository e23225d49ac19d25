/// A validated GGUF file. Tensor data is memory-mapped and handed out as zero-copy views.
public final class GGUFFile: Sendable {
    /// The path it was opened from, or a caller-given name for in-memory bytes.
    public let source: String
    public let layout: GGUFLayout
    private let bytes: MappedBytes
    private let tensorIndex: [String: Int]

    public var version: UInt32 { layout.version }
    public var metadata: GGUFMetadata { layout.metadata }
    public var tensors: [GGUFTensorInfo] { layout.tensors }
    public var alignment: Int { layout.alignment }
    public var dataOffset: Int { layout.dataOffset }
    public var fileSize: Int { bytes.buffer.count }

    /// Memory-maps and validates the file at `path`.
    public convenience init(path: String) throws {
        try self.init(bytes: try MappedBytes(path: path), source: path)
    }

    /// Validates a copy of in-memory bytes (tests, and files produced by `GGUFWriter`).
    public convenience init(bytes: [UInt8], source: String = "<memory>") throws {
        try self.init(bytes: MappedBytes(copying: bytes), source: source)
    }

    private init(bytes: MappedBytes, source: String) throws {
        var parser = GGUFParser(bytes: bytes.buffer, source: source)
        self.layout = try parser.parse()
        self.bytes = bytes
        self.source = source
        self.tensorIndex = Dictionary(uniqueKeysWithValues: layout.tensors.enumerated().map { ($1.name, $0) })
    }

    /// Parses without keeping anything: the entry point for fuzzing and validation.
    public static func parse(_ buffer: UnsafeRawBufferPointer, source: String = "<memory>") throws -> GGUFLayout {
        var parser = GGUFParser(bytes: buffer, source: source)
        return try parser.parse()
    }

    /// Drops this file's mapped pages from the resident set (the mapping stays valid: a later
    /// read faults the page back in from the page cache). For callers that copied what they need.
    public func releaseMappedPages() { bytes.releaseResidentPages() }

    public func tensor(named name: String) -> GGUFTensorInfo? {
        tensorIndex[name].map { layout.tensors[$0] }
    }

    /// The tensor's bytes, without copying. Valid while this `GGUFFile` is alive.
    public func data(for tensor: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        let start = dataOffset + Int(tensor.offset)
        return UnsafeRawBufferPointer(rebasing: bytes.buffer[start..<start + Int(tensor.byteCount)])
    }
}
