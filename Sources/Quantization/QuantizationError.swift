import GGUF

/// Why a weight type cannot be used by this module.
public enum QuantizationError: Error, CustomStringConvertible, Equatable {
    case unsupportedType(GGMLType)

    public var description: String {
        switch self {
        case .unsupportedType(let type):
            let names = Quantization.supportedWeightTypes.map(\.name).joined(separator: ", ")
            return "unsupported tensor type \(type.name) (id \(type.rawValue)); supported weight types: \(names)"
        }
    }
}
