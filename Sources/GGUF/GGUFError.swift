/// Why a GGUF file was rejected: which field, what value, at which byte, and what was expected.
public struct GGUFError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Reason: String, Sendable {
        case cannotOpen, badMagic, unsupportedVersion, bigEndian, truncated
        case unknownValueType, invalidBool, invalidUTF8, emptyKey, keyTooLong, duplicateKey
        case stringTooLong, arrayTooLarge, nestingTooDeep, countTooLarge
        case badAlignment, nameTooLong, emptyName, duplicateTensorName
        case badDimensionCount, badDimension, dimensionOverflow, unknownTensorType, notBlockMultiple
        case misalignedOffset, outOfFile, overlappingTensors
    }

    public let reason: Reason
    /// The file (or "<memory>") the error is about.
    public let source: String
    /// The field, e.g. `tensor_count`, `metadata["general.name"]`, `tensor "blk.0.attn_q.weight" offset`.
    public let field: String
    /// The offending value as read.
    public let value: String
    /// Byte offset of the field in the file.
    public let offset: Int
    public let expected: String

    public init(_ reason: Reason, source: String, field: String, value: String, offset: Int, expected: String) {
        self.reason = reason
        self.source = source
        self.field = field
        self.value = value
        self.offset = offset
        self.expected = expected
    }

    public var description: String {
        "\(source): invalid GGUF: \(field) at byte \(offset) is \(value); expected \(expected)"
    }
}
