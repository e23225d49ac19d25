import Autograd
import TensorOps
import Tensors

/// Something with trainable parameters. Parameters are leaf variables named as they will be saved
/// (GGUF names for the models here), so checkpoints and exports find them by name.
public protocol Layer: AnyObject {
    var parameters: [Variable] { get }
}

extension Layer {
    /// Stops (or restarts) gradients for every parameter: a frozen layer still runs forward.
    public func freeze(_ frozen: Bool = true) {
        for parameter in parameters { parameter.requiresGradient = !frozen }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
}

/// `y = x · Wᵀ (+ b)` with W [out, in].
public final class Linear: Layer {
    public let weight: Variable
    public let bias: Variable?

    public init(weight: Variable, bias: Variable? = nil) {
        self.weight = weight
        self.bias = bias
    }

    /// W ~ N(0, std²), b = 0.
    public init(
        inputs: Int, outputs: Int, bias: Bool = false, std: Double, name: String, backend: any TensorBackend, random: inout SeededRandom,
        dtype: DType = .f32
    ) {
        weight = Initialization.normal(
            [outputs, inputs], std: std, name: name + ".weight", backend: backend, random: &random, dtype: dtype)
        self.bias =
            bias ? Variable(backend.zeros([outputs], dtype: dtype), backend: backend, requiresGradient: true, name: name + ".bias") : nil
    }

    public var parameters: [Variable] { [weight] + (bias.map { [$0] } ?? []) }

    public func callAsFunction(_ x: Variable) -> Variable {
        let product = x.linear(weight)
        guard let bias else { return product }
        return product + bias
    }
}

/// Rows of a [vocabulary, width] table picked by token ids.
public final class Embedding: Layer {
    public let table: Variable

    public init(table: Variable) { self.table = table }

    public init(
        vocabulary: Int, width: Int, std: Double, name: String, backend: any TensorBackend, random: inout SeededRandom, dtype: DType = .f32
    ) {
        table = Initialization.normal([vocabulary, width], std: std, name: name, backend: backend, random: &random, dtype: dtype)
    }

    public var parameters: [Variable] { [table] }

    public func callAsFunction(_ ids: Tensor) -> Variable { table.embeddingLookup(ids) }
}

/// `x / sqrt(mean(x²) + ε) ⊙ weight` over the last axis (Zhang & Sennrich 2019).
public final class RMSNorm: Layer {
    public let weight: Variable
    public let epsilon: Double

    public init(weight: Variable, epsilon: Double) {
        self.weight = weight
        self.epsilon = epsilon
    }

    public init(width: Int, epsilon: Double, name: String, backend: any TensorBackend, dtype: DType = .f32) {
        let ones = backend.zeros([width], dtype: dtype)
        backend.fill(ones, with: 1)
        weight = Variable(ones, backend: backend, requiresGradient: true, name: name)
        self.epsilon = epsilon
    }

    public var parameters: [Variable] { [weight] }

    public func callAsFunction(_ x: Variable) -> Variable { x.rmsNorm(weight: weight, epsilon: epsilon) }
}

/// `(x − mean) / sqrt(var + ε) ⊙ weight + bias` over the last axis (Ba et al. 2016).
public final class LayerNorm: Layer {
    public let weight: Variable
    public let bias: Variable?
    public let epsilon: Double

    public init(width: Int, epsilon: Double, bias: Bool = true, name: String, backend: any TensorBackend, dtype: DType = .f32) {
        let ones = backend.zeros([width], dtype: dtype)
        backend.fill(ones, with: 1)
        weight = Variable(ones, backend: backend, requiresGradient: true, name: name + ".weight")
        self.bias =
            bias ? Variable(backend.zeros([width], dtype: dtype), backend: backend, requiresGradient: true, name: name + ".bias") : nil
        self.epsilon = epsilon
    }

    public var parameters: [Variable] { [weight] + (bias.map { [$0] } ?? []) }

    public func callAsFunction(_ x: Variable) -> Variable { x.layerNorm(weight: weight, bias: bias, epsilon: epsilon) }
}
