import Compute
import GGUF
import Tensors

/// What a tensor is for decides the types it may have. Every tensor a model uses is checked
/// against its role when the model is built, so no kernel meets a type it cannot read: a file can
/// name any valid GGML type for any tensor, and the kernels' own preconditions are invariants,
/// not input checks.
enum TensorRole: Sendable {
    /// A matrix multiplied by activations (projections, the output layer) or the token embedding:
    /// any type the backend multiplies (`ComputeBackend.makeWeight` refuses the others by name).
    case matrix
    /// An RMSNorm weight: F32 values, which the norm kernel reads directly. F16 and BF16 are
    /// widened to F32 at load instead of refused: the conversion is exact and costs one pass over
    /// a few KiB. Quantized norms are refused: no converter writes them, and their block scales
    /// would put a rounding ggml does not apply into every row.
    case norm

    static let normTypes: [GGMLType] = [.f32, .f16, .bf16]
}

extension WeightLoader {
    /// An RMSNorm weight of `length` values as F32 in the backend's memory (see `TensorRole.norm`).
    public func loadNorm(_ name: String, length: Int) throws -> Weight {
        guard let tensor = file.tensor(named: name) else {
            throw ModelError("\(file.source): tensor \(name) is missing (expected a norm weight of shape [\(length)])")
        }
        let values = try normValues(tensor, length: length)
        let buffer = DeviceBuffer.host(byteCount: length * 4)
        buffer.address.copyMemory(from: values, byteCount: length * 4)
        return try backend.makeWeight(
            name: name, type: .f32, dimensions: [Int64(length)], bytes: UnsafeRawBufferPointer(start: buffer.address, count: length * 4),
            owner: buffer)
    }

    /// The tensor's values widened to F32 after its type, shape and values are checked.
    func normValues(_ tensor: GGUFTensorInfo, length: Int) throws -> [Float] {
        guard TensorRole.normTypes.contains(tensor.type) else {
            throw ModelError(
                "\(file.source): tensor \(tensor.name) is \(tensor.type.name); norm weights must be F32 (F16 and BF16 are widened at load)")
        }
        try checkShape(tensor, [length])
        let values = Self.widened(file.data(for: tensor), type: tensor.type, count: length)
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw ModelError("\(file.source): tensor \(tensor.name) holds \(values[bad]) at index \(bad); norm weights must be finite")
        }
        return values
    }

    /// `count` F32, F16 or BF16 values read without assuming alignment (a file may align its
    /// tensors to 1 byte).
    static func widened(_ bytes: UnsafeRawBufferPointer, type: GGMLType, count: Int) -> [Float] {
        switch type.id {
        case .f32: return (0..<count).map { bytes.loadUnaligned(fromByteOffset: 4 * $0, as: Float.self) }
        case .f16: return (0..<count).map { widenHalf(bytes.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) }
        case .bf16:
            return (0..<count).map { Float(bitPattern: UInt32(bytes.loadUnaligned(fromByteOffset: 2 * $0, as: UInt16.self)) << 16) }
        default: preconditionFailure("widened: \(type.name) is not a float type")
        }
    }

    /// IEEE binary16 to binary32, exactly (subnormals, infinities and NaN included).
    static func widenHalf(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 == 0 ? 1 : -1
        let exponent = Int(h >> 10 & 0x1F), mantissa = Float(h & 0x3FF)
        switch exponent {
        case 0: return sign * mantissa * 0x1p-24
        case 31: return mantissa == 0 ? sign * .infinity : .nan
        default: return sign * (1 + mantissa / 1024) * Float(sign: .plus, exponent: exponent - 15, significand: 1)
        }
    }

    /// The tensor's dimensions, trailing 1s beyond `shape`'s rank dropped, must equal `shape`.
    func checkShape(_ tensor: GGUFTensorInfo, _ shape: [Int]) throws {
        var dims = tensor.dimensions.map { Int($0) }
        while dims.count > shape.count, dims.last == 1 { dims.removeLast() }
        guard dims == shape else {
            throw ModelError("\(file.source): tensor \(tensor.name) has shape \(tensor.dimensions); expected \(shape)")
        }
    }
}
