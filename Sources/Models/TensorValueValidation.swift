import GGUF

/// NaN and infinity in weights: an F32, F16 or BF16 element, or the f16 scale (and minimum) of a
/// quantized block, that is not finite turns every logit downstream into NaN. llama.cpp checks
/// this only on request (`--check-tensors`); here every tensor a model uses is checked before the
/// backend copies it, so a file that parses either runs on finite numbers or is refused by name.
///
/// The check reads the tensor once just before the backend copies it, so the pages it brings in
/// are the ones the copy reads next and then releases: peak memory does not change.
enum TensorValueValidation {
    enum Finding: Equatable {
        case element(Int)
        case blockScale(Int)
    }

    /// Byte offsets of the f16 fields (scale, and minimum where there is one) in one block of a
    /// quantized type (ggml's block layouts); nil for an element-wise float type or a type the
    /// engine does not run (the backend refuses those by name).
    static func scaleOffsets(_ type: GGMLType) -> [Int]? {
        switch type.id {
        case .q4_0, .q5_0, .q8_0: [0]
        case .q4_1, .q5_1, .q4_K, .q5_K: [0, 2]
        case .q2_K: [80, 82]
        case .q3_K: [108]
        case .q6_K: [208]
        default: nil
        }
    }

    /// The first element or block whose value or scale is not finite, or nil.
    static func firstNonFinite(_ bytes: UnsafeRawBufferPointer, type: GGMLType) -> Finding? {
        @inline(__always) func halfIsFinite(_ bits: UInt16) -> Bool { bits & 0x7C00 != 0x7C00 }
        switch type.id {
        case .f32:
            for i in 0..<bytes.count / 4 where bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self) & 0x7F80_0000 == 0x7F80_0000 {
                return .element(i)
            }
        case .f16:
            for i in 0..<bytes.count / 2 where !halfIsFinite(bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) {
                return .element(i)
            }
        case .bf16:
            for i in 0..<bytes.count / 2 where bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self) & 0x7F80 == 0x7F80 {
                return .element(i)
            }
        default:
            guard let offsets = scaleOffsets(type) else { return nil }
            let blockBytes = type.typeSize
            for block in 0..<bytes.count / blockBytes {
                for offset in offsets where !halfIsFinite(bytes.loadUnaligned(fromByteOffset: block * blockBytes + offset, as: UInt16.self))
                {
                    return .blockScale(block)
                }
            }
        }
        return nil
    }
}

extension WeightLoader {
    /// Throws when `tensor` holds a NaN or infinity (`TensorValueValidation`).
    func checkFinite(_ tensor: GGUFTensorInfo) throws {
        switch TensorValueValidation.firstNonFinite(file.data(for: tensor), type: tensor.type) {
        case nil: return
        case .element(let i)?:
            throw ModelError("\(file.source): tensor \(tensor.name) (\(tensor.type.name)) holds NaN or infinity at element \(i)")
        case .blockScale(let b)?:
            throw ModelError(
                "\(file.source): tensor \(tensor.name) (\(tensor.type.name)) has a NaN or infinite scale in block \(b) "
                    + "(elements \(b * tensor.type.blockSize)…\((b + 1) * tensor.type.blockSize - 1))")
        }
    }
}
