import Autograd
import NeuralNetworks
import TensorOps
import Tensors

/// LeNet-5 (LeCun et al. 1998) as it is trained today: ReLU instead of tanh, max pooling instead of
/// subsampling, full connections between the convolutions. 5×5 conv (padding 2) to 6 maps, 2×2 max
/// pool, 5×5 conv to 16 maps, 2×2 max pool, then 120 → 84 → classes.
final class LeNet5: ImageClassifier {
    let architecture = ClassifierArchitecture.lenet
    let input: ImageShape
    let classes: Int
    let conv1: Conv2d, conv2: Conv2d
    let fc1: Linear, fc2: Linear, fc3: Linear
    static let pool = Window2D(kernel: 2, stride: 2)

    init(input: ImageShape, classes: Int, backend: any TensorBackend, random: inout SeededRandom, dtype: DType) throws {
        // 5×5 same-size conv, pool, 5×5 valid conv, pool.
        let height = (input.height / 2 - 4) / 2, width = (input.width / 2 - 4) / 2
        guard height >= 1, width >= 1 else { throw VisionError.invalid("lenet needs images of at least 12×12, not \(input)") }
        self.input = input
        self.classes = classes
        conv1 = Conv2d(
            inputs: input.channels, outputs: 6, window: Window2D(kernel: 5, padding: 2), bias: true, name: "conv1", backend: backend,
            random: &random, dtype: dtype)
        conv2 = Conv2d(
            inputs: 6, outputs: 16, window: Window2D(kernel: 5), bias: true, name: "conv2", backend: backend, random: &random, dtype: dtype)
        fc1 = reluLinear(16 * height * width, 120, name: "fc1", backend: backend, random: &random, dtype: dtype)
        fc2 = reluLinear(120, 84, name: "fc2", backend: backend, random: &random, dtype: dtype)
        fc3 = reluLinear(84, classes, name: "fc3", backend: backend, random: &random, dtype: dtype)
    }

    var parameters: [Variable] { conv1.parameters + conv2.parameters + fc1.parameters + fc2.parameters + fc3.parameters }
    var batchNorms: [BatchNorm] { [] }

    func logits(_ images: Variable, training: Bool, seed: UInt64) -> Variable {
        var x = conv1(images).activation(.relu).pool2d(.max, window: Self.pool)
        x = conv2(x).activation(.relu).pool2d(.max, window: Self.pool)
        x = fc1(x.flattened()).activation(.relu)
        return fc3(fc2(x).activation(.relu))
    }
}
