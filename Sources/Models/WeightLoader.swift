import Compute
import GGUF

/// Finds tensors by name in a GGUF file, checks their shapes, and hands them to a backend.
/// Public for fine-tuning, which loads the same weights (same checks) as its frozen base.
public struct WeightLoader {
    let file: GGUFFile
    let backend: any ComputeBackend

    public init(file: GGUFFile, backend: any ComputeBackend) {
        self.file = file
        self.backend = backend
    }

    /// A matrix (`TensorRole.matrix`): `name` must exist with exactly `shape` (ggml order: row
    /// length first). Norm weights go through `loadNorm`.
    public func load(_ name: String, shape: [Int]) throws -> Weight {
        guard let tensor = file.tensor(named: name) else {
            throw ModelError("\(file.source): tensor \(name) is missing (expected shape \(shape))")
        }
        return try load(tensor, shape: shape)
    }

    public func loadIfPresent(_ name: String, shape: [Int]) throws -> Weight? {
        guard let tensor = file.tensor(named: name) else { return nil }
        return try load(tensor, shape: shape)
    }

    private func load(_ tensor: GGUFTensorInfo, shape: [Int]) throws -> Weight {
        // Values before the backend's copy (which releases the pages read), then the type: an
        // unusable type is the more fundamental problem to report than the shape.
        try checkFinite(tensor)
        let weight: Weight
        do {
            weight = try backend.makeWeight(
                name: tensor.name, type: tensor.type, dimensions: tensor.dimensions,
                bytes: file.data(for: tensor), owner: file)
        } catch {
            throw ModelError("\(file.source): tensor \(tensor.name) has type \(tensor.type.name), which cannot be used: \(error)")
        }
        try checkShape(tensor, shape)
        return weight
    }

    /// Llama 3.1's RoPE frequency divisors (`count` F32 values, each in
    /// `HyperparameterLimits.ropeScaling` so that every angle stays finite), copied to host memory.
    public func ropeFrequencyFactors(_ name: String, count: Int) throws -> [Float]? {
        guard let tensor = file.tensor(named: name) else { return nil }
        guard tensor.type == .f32, tensor.elementCount == Int64(count) else {
            throw ModelError(
                "\(file.source): tensor \(name) is \(tensor.type.name) \(tensor.dimensions); expected F32 with \(count) values")
        }
        let values = Self.widened(file.data(for: tensor), type: .f32, count: count)
        let range = HyperparameterLimits.ropeScaling
        if let bad = values.firstIndex(where: { !range.contains(Double($0)) }) {
            throw ModelError(
                "\(file.source): tensor \(name) holds \(values[bad]) at index \(bad); expected values in \(range.lowerBound)…\(range.upperBound)"
            )
        }
        return values
    }
}
