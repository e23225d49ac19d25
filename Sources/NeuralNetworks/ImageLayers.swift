import Autograd
import TensorOps
import Tensors

/// A 2-D convolution layer: weight [outputs, inputs/groups, kh, kw], optional bias [outputs].
public final class Conv2d: Layer {
    public let weight: Variable
    public let bias: Variable?
    public let window: Window2D
    public let groups: Int

    /// He (Kaiming) normal initialisation for ReLU networks, std = sqrt(2 / fan-in) (He et al. 2015);
    /// the bias starts at 0.
    public init(
        inputs: Int, outputs: Int, window: Window2D, groups: Int = 1, bias: Bool, name: String, backend: any TensorBackend,
        random: inout SeededRandom, dtype: DType = .f32
    ) {
        precondition(inputs % groups == 0 && outputs % groups == 0, "\(name): groups \(groups) must divide \(inputs) and \(outputs)")
        let fanIn = inputs / groups * window.kernel.height * window.kernel.width
        weight = Initialization.normal(
            [outputs, inputs / groups, window.kernel.height, window.kernel.width], std: (2 / Double(fanIn)).squareRoot(),
            name: name + ".weight", backend: backend, random: &random, dtype: dtype)
        self.bias = bias ? Initialization.constant([outputs], value: 0, name: name + ".bias", backend: backend, dtype: dtype) : nil
        self.window = window
        self.groups = groups
    }

    public var parameters: [Variable] { [weight] + (bias.map { [$0] } ?? []) }
    public var outputs: Int { weight.shape[0] }

    public func callAsFunction(_ x: Variable) -> Variable { x.conv2d(weight: weight, bias: bias, window: window, groups: groups) }
}

/// Batch normalisation (Ioffe & Szegedy 2015) over axis 1 of [N, C, ...]: in training, each batch's
/// own statistics, and running averages updated as PyTorch does (momentum 0.1, the unbiased
/// variance); in evaluation, the running statistics.
public final class BatchNorm: Layer {
    public let weight: Variable
    public let bias: Variable
    public let epsilon: Double
    public let momentum: Double
    /// Running statistics (not trained; saved with the model). Host values: C numbers per layer.
    public private(set) var runningMean: [Double]
    public private(set) var runningVariance: [Double]
    public let name: String

    public init(
        channels: Int, epsilon: Double = 1e-5, momentum: Double = 0.1, name: String, backend: any TensorBackend, dtype: DType = .f32
    ) {
        weight = Initialization.constant([channels], value: 1, name: name + ".weight", backend: backend, dtype: dtype)
        bias = Initialization.constant([channels], value: 0, name: name + ".bias", backend: backend, dtype: dtype)
        self.epsilon = epsilon
        self.momentum = momentum
        runningMean = Array(repeating: 0, count: channels)
        runningVariance = Array(repeating: 1, count: channels)
        self.name = name
    }

    public var parameters: [Variable] { [weight, bias] }
    public var channels: Int { weight.shape[0] }

    /// The running statistics by the names they are saved under.
    public var statistics: [(name: String, values: [Double])] {
        [(name + ".running_mean", runningMean), (name + ".running_var", runningVariance)]
    }

    public func setStatistics(mean: [Double], variance: [Double]) {
        precondition(
            mean.count == channels && variance.count == channels, "\(name): statistics for \(mean.count) channels, not \(channels)")
        runningMean = mean
        runningVariance = variance
    }

    public func callAsFunction(_ x: Variable, training: Bool) -> Variable {
        let backend = x.backend
        guard training else {
            let w = backend.doubles(weight.value), b = backend.doubles(bias.value)
            var scale = [Double](repeating: 0, count: channels), shift = scale
            for c in 0..<channels {
                scale[c] = w[c] / (runningVariance[c] + epsilon).squareRoot()
                shift[c] = b[c] - runningMean[c] * scale[c]
            }
            return x.channelAffine(scale: converted(scale, like: x), shift: converted(shift, like: x))
        }
        let (output, mean, inverseStd) = x.batchNorm(weight: weight, bias: bias, epsilon: epsilon)
        let count = Double(x.value.count / channels)
        let means = backend.doubles(mean), inverse = backend.doubles(inverseStd)
        for c in 0..<channels {
            let biased = 1 / (inverse[c] * inverse[c]) - epsilon
            let unbiased = count > 1 ? biased * count / (count - 1) : biased
            runningMean[c] += momentum * (means[c] - runningMean[c])
            runningVariance[c] += momentum * (unbiased - runningVariance[c])
        }
        return output
    }

    private func converted(_ values: [Double], like x: Variable) -> Tensor {
        let backend = x.backend
        let host = backend.tensor(values, shape: [values.count])
        if x.dtype == .f64 { return host }
        let tensor = backend.zeros([values.count], dtype: x.dtype)
        backend.copy(host, into: tensor)
        return tensor
    }
}
