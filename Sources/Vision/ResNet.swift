import Autograd
import NeuralNetworks
import TensorOps
import Tensors

/// The CIFAR ResNets of He et al. 2016 ("Deep Residual Learning", section 4.2): a 3×3 convolution to
/// 16 maps, three stages of n basic blocks at 16, 32 and 64 maps (the first block of stages 2 and 3
/// halves the resolution with stride 2), global average pooling and one linear layer: 6n + 2 layers
/// (n = 1: ResNet-8, n = 3: ResNet-20). Where a block changes shape, its shortcut is a 1×1
/// convolution with batch normalisation (the paper's option B).
final class ResNet: ImageClassifier {
    let architecture: ClassifierArchitecture
    let input: ImageShape
    let classes: Int
    let stem: Conv2d, stemNorm: BatchNorm
    let blocks: [BasicBlock]
    let output: Linear

    init(
        architecture: ClassifierArchitecture, input: ImageShape, classes: Int, backend: any TensorBackend, random: inout SeededRandom,
        dtype: DType
    ) throws {
        guard input.height >= 4, input.width >= 4 else {
            throw VisionError.invalid("\(architecture) needs images of at least 4×4, not \(input)")
        }
        let depth = architecture == .resnet8 ? 1 : 3
        self.architecture = architecture
        self.input = input
        self.classes = classes
        stem = Conv2d(
            inputs: input.channels, outputs: 16, window: Window2D(kernel: 3, padding: 1), bias: false, name: "stem.conv",
            backend: backend, random: &random, dtype: dtype)
        stemNorm = BatchNorm(channels: 16, name: "stem.bn", backend: backend, dtype: dtype)
        var blocks: [BasicBlock] = []
        var channels = 16
        for (stage, width) in [16, 32, 64].enumerated() {
            for index in 0..<depth {
                let stride = stage > 0 && index == 0 ? 2 : 1
                blocks.append(
                    BasicBlock(
                        inputs: channels, outputs: width, stride: stride, name: "stage\(stage + 1).block\(index + 1)", backend: backend,
                        random: &random, dtype: dtype))
                channels = width
            }
        }
        self.blocks = blocks
        output = Linear(
            inputs: channels, outputs: classes, bias: true, std: (1 / Double(channels)).squareRoot(), name: "fc", backend: backend,
            random: &random, dtype: dtype)
    }

    var parameters: [Variable] { stem.parameters + stemNorm.parameters + blocks.flatMap(\.parameters) + output.parameters }
    var batchNorms: [BatchNorm] { [stemNorm] + blocks.flatMap(\.batchNorms) }

    func logits(_ images: Variable, training: Bool, seed: UInt64) -> Variable {
        var x = stemNorm(stem(images), training: training).activation(.relu)
        for block in blocks { x = block(x, training: training) }
        return output(x.globalAveragePool())
    }
}

/// Two 3×3 convolutions with batch normalisation, added to the (projected) input, then ReLU.
final class BasicBlock {
    let conv1: Conv2d, norm1: BatchNorm, conv2: Conv2d, norm2: BatchNorm
    let shortcut: (Conv2d, BatchNorm)?

    init(inputs: Int, outputs: Int, stride: Int, name: String, backend: any TensorBackend, random: inout SeededRandom, dtype: DType) {
        conv1 = Conv2d(
            inputs: inputs, outputs: outputs, window: Window2D(kernel: 3, stride: stride, padding: 1), bias: false, name: name + ".conv1",
            backend: backend, random: &random, dtype: dtype)
        norm1 = BatchNorm(channels: outputs, name: name + ".bn1", backend: backend, dtype: dtype)
        conv2 = Conv2d(
            inputs: outputs, outputs: outputs, window: Window2D(kernel: 3, padding: 1), bias: false, name: name + ".conv2",
            backend: backend, random: &random, dtype: dtype)
        norm2 = BatchNorm(channels: outputs, name: name + ".bn2", backend: backend, dtype: dtype)
        if stride != 1 || inputs != outputs {
            shortcut = (
                Conv2d(
                    inputs: inputs, outputs: outputs, window: Window2D(kernel: 1, stride: stride), bias: false,
                    name: name + ".shortcut.conv", backend: backend, random: &random, dtype: dtype),
                BatchNorm(channels: outputs, name: name + ".shortcut.bn", backend: backend, dtype: dtype)
            )
        } else {
            shortcut = nil
        }
    }

    var parameters: [Variable] {
        conv1.parameters + norm1.parameters + conv2.parameters + norm2.parameters
            + (shortcut.map { $0.0.parameters + $0.1.parameters } ?? [])
    }
    var batchNorms: [BatchNorm] { [norm1, norm2] + (shortcut.map { [$0.1] } ?? []) }

    func callAsFunction(_ x: Variable, training: Bool) -> Variable {
        let residual = norm2(conv2(norm1(conv1(x), training: training).activation(.relu)), training: training)
        let identity = shortcut.map { $0.1($0.0(x), training: training) } ?? x
        return (residual + identity).activation(.relu)
    }
}
