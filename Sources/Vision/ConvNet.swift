import Autograd
import NeuralNetworks
import TensorOps
import Tensors

/// A small VGG-style network (Simonyan & Zisserman 2015, with batch normalisation): two blocks of
/// two 3×3 convolutions (32 then 64 maps, each followed by batch normalisation and ReLU) and a 2×2
/// max pool, then a 256-unit hidden layer with dropout before the classes.
final class ConvNet: ImageClassifier {
    let architecture = ClassifierArchitecture.cnn
    let input: ImageShape
    let classes: Int
    let convolutions: [(Conv2d, BatchNorm)]
    let hidden: Linear, output: Linear
    let dropout = 0.3
    static let pool = Window2D(kernel: 2, stride: 2)
    static let widths = [[32, 32], [64, 64]]

    init(input: ImageShape, classes: Int, backend: any TensorBackend, random: inout SeededRandom, dtype: DType) throws {
        let height = input.height / 4, width = input.width / 4
        guard height >= 1, width >= 1 else { throw VisionError.invalid("cnn needs images of at least 4×4, not \(input)") }
        self.input = input
        self.classes = classes
        var layers: [(Conv2d, BatchNorm)] = []
        var channels = input.channels
        for (block, widths) in Self.widths.enumerated() {
            for (index, width) in widths.enumerated() {
                let name = "block\(block + 1).conv\(index + 1)"
                let conv = Conv2d(
                    inputs: channels, outputs: width, window: Window2D(kernel: 3, padding: 1), bias: false, name: name, backend: backend,
                    random: &random, dtype: dtype)
                layers.append((conv, BatchNorm(channels: width, name: "block\(block + 1).bn\(index + 1)", backend: backend, dtype: dtype)))
                channels = width
            }
        }
        convolutions = layers
        hidden = reluLinear(channels * height * width, 256, name: "fc1", backend: backend, random: &random, dtype: dtype)
        output = reluLinear(256, classes, name: "fc2", backend: backend, random: &random, dtype: dtype)
    }

    var parameters: [Variable] { convolutions.flatMap { $0.0.parameters + $0.1.parameters } + hidden.parameters + output.parameters }
    var batchNorms: [BatchNorm] { convolutions.map(\.1) }

    func logits(_ images: Variable, training: Bool, seed: UInt64) -> Variable {
        var x = images
        for (index, (conv, norm)) in convolutions.enumerated() {
            x = norm(conv(x), training: training).activation(.relu)
            if index % 2 == 1 { x = x.pool2d(.max, window: Self.pool) }
        }
        x = x.flattened()
        if training { x = x.dropout(probability: dropout, seed: seed) }
        x = hidden(x).activation(.relu)
        if training { x = x.dropout(probability: dropout, seed: seed &+ 1) }
        return output(x)
    }
}
