import Autograd
import NeuralNetworks
import TensorOps
import Tensors

/// The image classifiers `atelier train classifier` builds, by the name users type.
public enum ClassifierArchitecture: String, CaseIterable, Sendable, Codable {
    case mlp, lenet, cnn, resnet8, resnet20
}

/// A model's input: channels × height × width.
public struct ImageShape: Sendable, Equatable, Codable, CustomStringConvertible {
    public var channels: Int, height: Int, width: Int

    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    public var count: Int { channels * height * width }
    public var description: String { "\(channels)×\(height)×\(width)" }
}

/// A network from images [N, C, H, W] to class logits [N, classes]. Parameters are named as they
/// are saved; batch normalisation layers carry running statistics that are saved beside them.
public protocol ImageClassifier: AnyObject {
    var architecture: ClassifierArchitecture { get }
    var input: ImageShape { get }
    var classes: Int { get }
    var parameters: [Variable] { get }
    var batchNorms: [BatchNorm] { get }
    /// `training` switches batch normalisation to batch statistics and turns dropout on (its mask
    /// drawn from `seed`).
    func logits(_ images: Variable, training: Bool, seed: UInt64) -> Variable
}

extension ImageClassifier {
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
}

public enum ImageClassifiers {
    /// A freshly initialised classifier (seeded).
    public static func make(
        _ architecture: ClassifierArchitecture, input: ImageShape, classes: Int, backend: any TensorBackend, seed: UInt64,
        dtype: DType = .f32
    ) throws -> any ImageClassifier {
        guard classes >= 2 else { throw VisionError.invalid("a classifier needs at least 2 classes, not \(classes)") }
        var random = SeededRandom(seed: seed)
        switch architecture {
        case .mlp: return MLPClassifier(input: input, classes: classes, backend: backend, random: &random, dtype: dtype)
        case .lenet: return try LeNet5(input: input, classes: classes, backend: backend, random: &random, dtype: dtype)
        case .cnn: return try ConvNet(input: input, classes: classes, backend: backend, random: &random, dtype: dtype)
        case .resnet8, .resnet20:
            return try ResNet(
                architecture: architecture, input: input, classes: classes, backend: backend, random: &random, dtype: dtype)
        }
    }
}

public enum VisionError: Error, CustomStringConvertible {
    case invalid(String)
    case modelFile(path: String, reason: String)

    public var description: String {
        switch self {
        case .invalid(let reason): return reason
        case .modelFile(let path, let reason): return "\(path): \(reason)"
        }
    }
}

/// `Linear` initialised for a ReLU network: He normal weights (std sqrt(2/fan-in)), zero bias.
func reluLinear(_ inputs: Int, _ outputs: Int, name: String, backend: any TensorBackend, random: inout SeededRandom, dtype: DType)
    -> Linear
{
    Linear(
        inputs: inputs, outputs: outputs, bias: true, std: (2 / Double(inputs)).squareRoot(), name: name, backend: backend,
        random: &random, dtype: dtype)
}
