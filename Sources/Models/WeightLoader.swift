import Compute
import GGUF

/// Finds tensors by name in a GGUF file, checks their shapes, and hands them to a backend.
struct WeightLoader {
    let file: GGUFFile
    let backend: any ComputeBackend

    /// `name` must exist with exactly `shape` (ggml order: row length first).
    func load(_ name: String, shape: [Int]) throws -> Weight {
        guard let tensor = file.tensor(named: name) else {
            throw ModelError("\(file.source): tensor \(name) is missing (expected shape \(shape))")
        }
        return try load(tensor, shape: shape)
    }

    func loadIfPresent(_ name: String, shape: [Int]) throws -> Weight? {
        guard let tensor = file.tensor(named: name) else { return nil }
        return try load(tensor, shape: shape)
    }

    private func load(_ tensor: GGUFTensorInfo, shape: [Int]) throws -> Weight {
        // The type first: an unusable type is the more fundamental problem to report.
        let weight: Weight
        do {
            weight = try backend.makeWeight(
                name: tensor.name, type: tensor.type, dimensions: tensor.dimensions,
                bytes: file.data(for: tensor), owner: file)
        } catch {
            throw ModelError("\(file.source): tensor \(tensor.name) has type \(tensor.type.name), which cannot be used: \(error)")
        }
        var dims = tensor.dimensions.map { Int($0) }
        while dims.count > shape.count, dims.last == 1 { dims.removeLast() }
        guard dims == shape else {
            throw ModelError("\(file.source): tensor \(tensor.name) has shape \(tensor.dimensions); expected \(shape)")
        }
        return weight
    }

    /// F32 values of a small tensor (e.g. RoPE frequency factors), copied to host memory.
    func floats(_ name: String, count: Int) throws -> [Float]? {
        guard let tensor = file.tensor(named: name) else { return nil }
        guard tensor.type == .f32, tensor.elementCount == Int64(count) else {
            throw ModelError(
                "\(file.source): tensor \(name) is \(tensor.type.name) \(tensor.dimensions); expected F32 with \(count) values")
        }
        return Array(file.data(for: tensor).bindMemory(to: Float.self))
    }
}
