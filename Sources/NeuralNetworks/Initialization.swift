import Autograd
import TensorOps
import Tensors

/// Seeded parameter initialisation.
public enum Initialization {
    /// A parameter with entries ~ N(0, std²), drawn in row-major order from `random`.
    public static func normal(
        _ shape: [Int], std: Double, name: String, backend: any TensorBackend, random: inout SeededRandom, dtype: DType = .f32
    ) -> Variable {
        let count = shape.reduce(1, *)
        let values = (0..<count).map { _ in random.normal() * std }
        let host = backend.tensor(values, shape: shape)
        let tensor: Tensor
        if dtype == .f64 {
            tensor = host
        } else {
            tensor = backend.zeros(shape, dtype: dtype)
            backend.copy(host, into: tensor)
        }
        return Variable(tensor, backend: backend, requiresGradient: true, name: name)
    }
}

extension Initialization {
    /// A parameter with entries ~ U(−bound, bound), drawn in row-major order from `random`.
    public static func uniform(
        _ shape: [Int], bound: Double, name: String, backend: any TensorBackend, random: inout SeededRandom, dtype: DType = .f32
    ) -> Variable {
        let count = shape.reduce(1, *)
        let values = (0..<count).map { _ in (2 * random.uniform() - 1) * bound }
        let host = backend.tensor(values, shape: shape)
        let tensor: Tensor
        if dtype == .f64 {
            tensor = host
        } else {
            tensor = backend.zeros(shape, dtype: dtype)
            backend.copy(host, into: tensor)
        }
        return Variable(tensor, backend: backend, requiresGradient: true, name: name)
    }

    /// A constant-filled parameter (BatchNorm's weight 1 and bias 0).
    public static func constant(_ shape: [Int], value: Double, name: String, backend: any TensorBackend, dtype: DType = .f32) -> Variable {
        let tensor = backend.zeros(shape, dtype: dtype)
        if value != 0 { backend.fill(tensor, with: value) }
        return Variable(tensor, backend: backend, requiresGradient: true, name: name)
    }
}
