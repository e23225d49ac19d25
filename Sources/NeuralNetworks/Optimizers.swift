import Autograd
import TensorOps
import Tensors

#if canImport(Glibc)
import Glibc
#endif

/// Updates parameters from their gradients. State (moments, velocities) lives in tensors beside
/// the parameters, in the same order, so checkpoints save and restore it by position and name.
public protocol Optimizer: AnyObject {
    var parameters: [Variable] { get }
    var learningRate: Double { get set }
    /// Steps taken so far.
    var stepCount: Int { get set }
    /// Applies one update from the current gradients (parameters without a gradient are skipped).
    func step()
    /// The per-parameter state tensors, named `<parameter>.<slot>`, for checkpoints.
    var stateTensors: [(name: String, tensor: Tensor)] { get }
}

extension Optimizer {
    public func zeroGradients() {
        for parameter in parameters { parameter.zeroGradient() }
    }
}

/// AdamW (Loshchilov & Hutter 2019): Adam with weight decay decoupled from the gradient.
/// Weight decay applies to the parameters `decays` selects (by default those of rank ≥ 2:
/// matrices and embeddings, not norms or biases), as nanoGPT and most LLM recipes do.
public final class AdamW: Optimizer {
    public let parameters: [Variable]
    public var learningRate: Double
    public let beta1: Double, beta2: Double, epsilon: Double, weightDecay: Double
    public var stepCount = 0
    let firstMoments: [Tensor]
    let secondMoments: [Tensor]
    let decays: [Bool]

    public init(
        parameters: [Variable], learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8,
        weightDecay: Double = 0.01, decays: ((Variable) -> Bool)? = nil
    ) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        firstMoments = parameters.map { $0.backend.zeros($0.shape, dtype: $0.dtype) }
        secondMoments = parameters.map { $0.backend.zeros($0.shape, dtype: $0.dtype) }
        self.decays = parameters.map { decays?($0) ?? ($0.shape.count >= 2) }
    }

    public func step() {
        stepCount += 1
        for (index, parameter) in parameters.enumerated() {
            guard parameter.requiresGradient, let gradient = parameter.gradient else { continue }
            let update = AdamWStep(
                learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: decays[index] ? weightDecay : 0,
                step: stepCount)
            parameter.backend.adamW(
                parameter: parameter.value, gradient: gradient, firstMoment: firstMoments[index], secondMoment: secondMoments[index],
                step: update)
        }
    }

    public var stateTensors: [(name: String, tensor: Tensor)] {
        parameters.indices.flatMap { index in
            [(parameters[index].name + ".adam_m", firstMoments[index]), (parameters[index].name + ".adam_v", secondMoments[index])]
        }
    }
}

/// Stochastic gradient descent with optional (Nesterov) momentum and L2 weight decay, PyTorch's update rule.
public final class SGD: Optimizer {
    public let parameters: [Variable]
    public var learningRate: Double
    public let momentum: Double, weightDecay: Double, nesterov: Bool
    public var stepCount = 0
    let velocities: [Tensor?]

    public init(parameters: [Variable], learningRate: Double, momentum: Double = 0, weightDecay: Double = 0, nesterov: Bool = false) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
        self.nesterov = nesterov
        velocities = parameters.map { momentum == 0 ? nil : $0.backend.zeros($0.shape, dtype: $0.dtype) }
    }

    public func step() {
        stepCount += 1
        let update = SGDStep(learningRate: learningRate, momentum: momentum, weightDecay: weightDecay, nesterov: nesterov)
        for (index, parameter) in parameters.enumerated() {
            guard parameter.requiresGradient, let gradient = parameter.gradient else { continue }
            parameter.backend.sgd(parameter: parameter.value, gradient: gradient, velocity: velocities[index], step: update)
        }
    }

    public var stateTensors: [(name: String, tensor: Tensor)] {
        parameters.indices.compactMap { index in velocities[index].map { (parameters[index].name + ".momentum", $0) } }
    }
}

/// Scales every gradient so their global L2 norm is at most `maxNorm`; returns the norm before
/// clipping (what training logs show). A non-finite norm is returned as is and nothing is scaled:
/// the caller stops on it.
@discardableResult
public func clipGradients(_ parameters: [Variable], maxNorm: Double) -> Double {
    var squared = 0.0
    for parameter in parameters {
        if let gradient = parameter.gradient { squared += parameter.backend.squaredNorm(gradient) }
    }
    let norm = squared.squareRoot()
    // PyTorch's rule (clip_grad_norm_), so the reference runs clip identically.
    let factor = maxNorm / (norm + 1e-6)
    guard norm.isFinite, factor < 1 else { return norm }
    for parameter in parameters { parameter.scaleGradient(by: factor) }
    return norm
}

/// The learning rate at a step: linear warmup, then cosine decay to a floor (nanoGPT's schedule).
public struct WarmupCosineSchedule: Sendable, Equatable {
    public var peak: Double
    public var floor: Double
    public var warmupSteps: Int
    public var totalSteps: Int

    public init(peak: Double, floor: Double, warmupSteps: Int, totalSteps: Int) {
        self.peak = peak
        self.floor = floor
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
    }

    /// `step` counts from 0: lr = peak·(step+1)/(warmup+1) during warmup, then
    /// floor + ½(1 + cos(π·progress))·(peak − floor), progress = (step − warmup)/(total − warmup).
    public func learningRate(at step: Int) -> Double {
        if step < warmupSteps { return peak * Double(step + 1) / Double(warmupSteps + 1) }
        if step >= totalSteps { return floor }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        return floor + 0.5 * (1 + cos(Double.pi * progress)) * (peak - floor)
    }
}
