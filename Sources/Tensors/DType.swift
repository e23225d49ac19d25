import GGUF

/// The element type of a tensor. Training computes in `f32` (and `f64`, which the gradient checks
/// use); weights may be stored in `f16`/`bf16`; token ids are `i32`. A GGUF tensor's type maps onto
/// a `DType`: the plain ggml types one to one, every block-quantized type as `.blockQuantized`.
public enum DType: Hashable, Sendable, CustomStringConvertible {
    case f32, f64, f16, bf16, i32
    /// Blocks of a ggml quantized type (Q4_0, Q8_0, Q4_K…): not element-addressable.
    case blockQuantized(GGMLType)

    /// Bytes per element; nil for block-quantized types.
    public var byteSize: Int? {
        switch self {
        case .f64: 8
        case .f32, .i32: 4
        case .f16, .bf16: 2
        case .blockQuantized: nil
        }
    }

    public var description: String {
        switch self {
        case .f32: "f32"
        case .f64: "f64"
        case .f16: "f16"
        case .bf16: "bf16"
        case .i32: "i32"
        case .blockQuantized(let type): type.name
        }
    }

    /// GGUF's type code for this element type.
    public init?(ggml type: GGMLType) {
        switch type.id {
        case .f32: self = .f32
        case .f64: self = .f64
        case .f16: self = .f16
        case .bf16: self = .bf16
        case .i32: self = .i32
        case .i8, .i16, .i64: return nil
        default: self = .blockQuantized(type)
        }
    }

    /// The ggml type a GGUF file stores this element type as.
    public var ggmlType: GGMLType {
        switch self {
        case .f32: .f32
        case .f64: .f64
        case .f16: .f16
        case .bf16: .bf16
        case .i32: .i32
        case .blockQuantized(let type): type
        }
    }
}
