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
