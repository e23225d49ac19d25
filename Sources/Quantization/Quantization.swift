import GGUF

/// Quantized block formats: dequantization, reference quantization, activation quantization and
/// the dot-product kernels the model code multiplies with.
public enum Quantization {
    /// Weight types we can dequantize and multiply.
    public static let supportedWeightTypes: [GGMLType] = [
        .f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K,
    ]

    /// Types `quantize` and `dequantize` accept: the weight types plus the activation formats, as
    /// a bit per type id (all ids are below 64). Not a `Set`: `dequantize` runs per tile of a
    /// fine-tuning step, hundreds of thousands of times, and hashing the id was 1 % of the step.
    static let codecTypeBits: UInt64 = (supportedWeightTypes + [.q8_1, .q8_K]).reduce(0) { $0 | 1 << UInt64($1.id.rawValue) }

    static func isCodecType(_ id: GGMLTypeID) -> Bool { id.rawValue < 64 && codecTypeBits & (1 << UInt64(id.rawValue)) != 0 }

    public static func checkSupported(_ type: GGMLType) throws {
        guard supportedWeightTypes.contains(where: { $0.id == type.id }) else {
            throw QuantizationError.unsupportedType(type)
        }
    }

    /// `count` is a multiple of `type.blockSize`. Bit-identical to ggml/gguf-py dequantization.
    /// Also accepts Q8_1 and Q8_K. Traps on any other type (callers check with `checkSupported`).
    public static func dequantize(_ type: GGMLType, from source: UnsafeRawPointer, to destination: UnsafeMutablePointer<Float>, count: Int)
    {
        precondition(isCodecType(type.id), "dequantize: unsupported type \(type.name)")
        precondition(count % type.blockSize == 0, "dequantize: \(count) is not a multiple of \(type.name)'s block size")
        let blocks = count / type.blockSize
        switch type.id {
        case .f32:
            for i in 0..<count { destination[i] = loadFloat(source, 4 * i) }
        case .f16:
            for i in 0..<count {
                destination[i] = halfToFloat(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        case .bf16:
            for i in 0..<count {
                destination[i] = bf16ToFloat(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            }
        #if arch(x86_64)
        case .q4_0: LegacyAVX2.dequantize(Q4_0Codes.self, source, destination, blocks: blocks)
        case .q4_1: LegacyAVX2.dequantize(Q4_1Codes.self, source, destination, blocks: blocks)
        case .q5_0: LegacyAVX2.dequantize(Q5_0Codes.self, source, destination, blocks: blocks)
        case .q5_1: LegacyAVX2.dequantize(Q5_1Codes.self, source, destination, blocks: blocks)
        case .q8_0: LegacyAVX2.dequantize(Q8_0Codes.self, source, destination, blocks: blocks)
        case .q8_1: Legacy32.dequantize(type.id, source, destination, blocks: blocks, blockBytes: type.typeSize)
        #else
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1:
            Legacy32.dequantize(type.id, source, destination, blocks: blocks, blockBytes: type.typeSize)
        #endif
        default:
            KQuant.dequantize(type.id, source, destination, blocks: blocks, blockBytes: type.typeSize)
        }
    }

    /// Reference quantizer f32 -> `type`. Q4_0...Q8_1 follow ggml's quantize_row_*_ref exactly (and so
    /// match gguf-py); K-quants use a simple max-abs / min-max quantizer (see KQuantizers.swift);
    /// Q8_K is ggml's reference. F16 rounds to nearest even, BF16 as ggml.
    public static func quantize(_ type: GGMLType, from source: UnsafePointer<Float>, to destination: UnsafeMutableRawPointer, count: Int) {
        precondition(isCodecType(type.id), "quantize: unsupported type \(type.name)")
        precondition(count % type.blockSize == 0, "quantize: \(count) is not a multiple of \(type.name)'s block size")
        let blocks = count / type.blockSize
        switch type.id {
        case .f32:
            destination.copyMemory(from: source, byteCount: 4 * count)
        case .f16:
            for i in 0..<count { destination.storeBytes(of: floatToHalf(source[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .bf16:
            for i in 0..<count { destination.storeBytes(of: floatToBF16(source[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self) }
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1:
            Legacy32.quantize(type.id, source, destination, blocks: blocks, blockBytes: type.typeSize)
        default:
            KQuant.quantize(type.id, source, destination, blocks: blocks, blockBytes: type.typeSize)
        }
    }

    /// Which activation format a weight type's dot product pairs with (ggml's vec_dot_type), except that
    /// float weights keep float activations.
    public static func activationType(for weight: GGMLType) -> GGMLType {
        switch weight.id {
        case .q4_0, .q5_0, .q8_0: return .q8_0
        case .q4_1, .q5_1: return .q8_1
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: return .q8_K
        default: return .f32
        }
    }

    /// Bytes of one activation row of `count` elements in `activationType(for:)`.
    public static func activationRowBytes(for weight: GGMLType, count: Int) -> Int {
        let a = activationType(for: weight)
        return count / a.blockSize * a.typeSize
    }

    /// Quantizes one f32 activation row into `activationType(for: weight)` (F32: a plain copy).
    /// Q8_0/Q8_1 follow llama.cpp's run-time x86 quantizer (`ActivationQuantizer`: id = 127/amax,
    /// half to even), Q8_K its reference (which is also what it runs). Codes stay in -127...127,
    /// which the AVX2 sign trick needs.
    public static func quantizeActivations(
        _ x: UnsafePointer<Float>, count: Int, for weight: GGMLType, into destination: UnsafeMutableRawPointer
    ) {
        switch activationType(for: weight).id {
        case .q8_0: ActivationQuantizer.quantize(x, count: count, sum: .none, into: destination)
        case .q8_1: ActivationQuantizer.quantize(x, count: count, sum: .scaled, into: destination)
        default: quantize(activationType(for: weight), from: x, to: destination, count: count)
        }
    }

    /// The matmul kernel for `weight`. `portable: true` forces the scalar kernels (used on non-x86
    /// hosts, and by tests to check them on x86).
    public static func dotKernel(for weight: GGMLType, portable: Bool = false) throws -> DotKernel {
        try checkSupported(weight)
        #if arch(x86_64)
        return DotKernel(weightType: weight, activationType: activationType(for: weight), portable: portable)
        #else
        return DotKernel(weightType: weight, activationType: activationType(for: weight), portable: true)
        #endif
    }

    /// The kernel for weights repacked into `layout` (`WeightLayout.preferred(for:)`).
    public static func dotKernel(for weight: GGMLType, layout: WeightLayout) throws -> DotKernel {
        switch layout {
        case .rowMajor: return try dotKernel(for: weight)
        case .interleaved8:
            guard Interleaved8.supports(weight) else { throw QuantizationError.unsupportedType(weight) }
            return DotKernel(weightType: weight, activationType: .q8_1, portable: false, layout: .interleaved8)
        }
    }
}
