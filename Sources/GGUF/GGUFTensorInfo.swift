/// One tensor's description from the tensor-info section.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// Dimensions in ggml order: `dimensions[0]` is the contiguous row length (`ne[0]`).
    public let dimensions: [Int64]
    public let type: GGMLType
    /// Offset relative to the start of the tensor-data section.
    public let offset: Int64
    public let elementCount: Int64
    public let byteCount: Int64

    public init(name: String, dimensions: [Int64], type: GGMLType, offset: Int64, elementCount: Int64, byteCount: Int64) {
        self.name = name
        self.dimensions = dimensions
        self.type = type
        self.offset = offset
        self.elementCount = elementCount
        self.byteCount = byteCount
    }

    /// Rows of a 2-D (or higher) tensor: the product of all dimensions after the first.
    public var rowCount: Int64 { dimensions.dropFirst().reduce(1, *) }
    /// Bytes per row of `dimensions[0]` elements.
    public var rowByteCount: Int64 { byteCount / max(rowCount, 1) }
}
