import GGUF
import Quantization

/// Writes a model with adapters folded into its weights: W' = W + Σ scaleᵢ · Bᵢ·Aᵢ.
///
/// Metadata and every tensor no adapter touches are copied byte for byte. An adapted tensor is
/// dequantized, updated (in double, rounded once), and stored as `outputType` — or, without one,
/// as llama.cpp's `llama-export-lora` does: F32 stays F32, anything else becomes F16. F16 rather
/// than the base's own type because re-quantizing a K-quant with our reference quantizer loses
/// more than the adapter adds; `--quant` can still ask for any type `Quantization` quantizes.
/// One tensor is in memory at a time (a streaming GGUF write), and the output appears atomically.
public enum LoRAMerge {
    /// The type an adapted tensor of `baseType` is written as when none is asked for.
    public static func defaultType(for baseType: GGMLType) -> GGMLType { baseType == .f32 ? .f32 : .f16 }

    /// Merged tensor types may be any of these (`Quantization.quantize`'s weight types).
    public static var outputTypes: [GGMLType] { Quantization.supportedWeightTypes }

    /// `adapters` are validated against `base` first; `progress(done, total)` after each tensor.
    public static func merge(
        base: GGUFFile, adapters: [(adapter: LoRAAdapter, scale: Float)], outputType: GGMLType? = nil, to path: String,
        progress: (Int, Int) -> Void = { _, _ in }
    ) throws {
        guard !adapters.isEmpty else { throw AdapterError("merge: no adapter given") }
        if let outputType, !outputTypes.contains(outputType) {
            throw AdapterError(
                "merge: cannot store tensors as \(outputType.name); expected one of \(outputTypes.map(\.name).joined(separator: ", "))")
        }
        for (adapter, scale) in adapters {
            guard scale.isFinite else { throw AdapterError("merge: the scale \(scale) for \(adapter.source) is not finite") }
            try adapter.validate(against: base)
        }
        var descriptions: [GGUFWriter.TensorDescription] = []
        for tensor in base.tensors {
            let adapted = adapters.contains { $0.adapter.pairs[tensor.name] != nil }
            let type = adapted ? outputType ?? defaultType(for: tensor.type) : tensor.type
            if adapted {
                try Quantization.checkSupported(tensor.type)
                guard tensor.dimensions[0] % Int64(type.blockSize) == 0 else {
                    throw AdapterError(
                        "merge: \(tensor.name) has rows of \(tensor.dimensions[0]) values, not a multiple of \(type.name)'s block of "
                            + "\(type.blockSize); choose another type")
                }
            }
            descriptions.append(try GGUFWriter.TensorDescription(name: tensor.name, type: type, dimensions: tensor.dimensions))
        }
        // The base's own alignment (general.alignment, if any) comes with its metadata.
        let writer = GGUFWriter(version: 3, metadata: base.metadata)
        let tensors = base.tensors
        try writer.write(to: path, tensors: descriptions) { index, emit in
            let tensor = tensors[index]
            let deltas = adapters.compactMap { entry in
                entry.adapter.pairs[tensor.name].map { ($0, entry.adapter.scale(for: $0, userScale: entry.scale)) }
            }
            if deltas.isEmpty {
                try emit(base.data(for: tensor))
            } else {
                let merged = mergedValues(tensor, in: base, deltas: deltas)
                let type = descriptions[index].type
                var bytes = [UInt8](repeating: 0, count: descriptions[index].byteCount)
                merged.withUnsafeBufferPointer { source in
                    bytes.withUnsafeMutableBytes {
                        Quantization.quantize(type, from: source.baseAddress!, to: $0.baseAddress!, count: source.count)
                    }
                }
                try bytes.withUnsafeBytes { try emit($0) }
            }
            progress(index + 1, tensors.count)
        }
    }

    /// W + Σ scale·B·A for one tensor; each element computed in double and rounded once.
    static func mergedValues(_ tensor: GGUFTensorInfo, in base: GGUFFile, deltas: [(LoRAPair, Float)]) -> [Float] {
        let count = Int(tensor.elementCount)
        let inputs = Int(tensor.dimensions[0]), outputs = count / inputs
        var weights = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            Quantization.dequantize(tensor.type, from: base.data(for: tensor).baseAddress!, to: buffer.baseAddress!, count: count)
            initialized = count
        }
        var row = [Double](repeating: 0, count: inputs)
        for o in 0..<outputs {
            for i in 0..<inputs { row[i] = Double(weights[o * inputs + i]) }
            for (pair, scale) in deltas {
                let s = Double(scale), r = pair.rank
                for i in 0..<inputs {
                    var sum = 0.0
                    for k in 0..<r { sum += Double(pair.b[o * r + k]) * Double(pair.a[k * inputs + i]) }
                    row[i] += s * sum
                }
            }
            for i in 0..<inputs { weights[o * inputs + i] = Float(row[i]) }
        }
        return weights
    }
}
