import Autograd
import TensorOps
import Tensors

/// Seeded parameter initialisation.
public enum Initialization {
    /// A parameter with entries ~ N(0, std²), drawn in row-major order from `random`.
    public static func normal(
        _ shape: [Int], std: Double, name: String, backend: any TensorBackend, random: inout SeededRandom, dtype: DType = .f32
    ) -> Variable {
        let values = (0..<shape.reduce(1, *)).map { _ in random.normal() * std }
        return parameter(values, shape: shape, name: name, backend: backend, dtype: dtype)
    }

    /// A trainable leaf holding `values` in `dtype`.
    static func parameter(_ values: [Double], shape: [Int], name: String, backend: any TensorBackend, dtype: DType) -> Variable {
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
    /// A constant-filled parameter (BatchNorm's weight 1 and bias 0).
    public static func constant(_ shape: [Int], value: Double, name: String, backend: any TensorBackend, dtype: DType = .f32) -> Variable {
        let tensor = backend.zeros(shape, dtype: dtype)
        if value != 0 { backend.fill(tensor, with: value) }
        return Variable(tensor, backend: backend, requiresGradient: true, name: name)
    }
}
