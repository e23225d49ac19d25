import Autograd
import NeuralNetworks
import TensorOps
import Tensors

/// A multilayer perceptron on the flattened pixels: input → 256 → 128 → classes, ReLU between.
final class MLPClassifier: ImageClassifier {
    let architecture = ClassifierArchitecture.mlp
    let input: ImageShape
    let classes: Int
    let hidden1: Linear, hidden2: Linear, output: Linear

    init(input: ImageShape, classes: Int, backend: any TensorBackend, random: inout SeededRandom, dtype: DType) {
        self.input = input
        self.classes = classes
        hidden1 = reluLinear(input.count, 256, name: "fc1", backend: backend, random: &random, dtype: dtype)
        hidden2 = reluLinear(256, 128, name: "fc2", backend: backend, random: &random, dtype: dtype)
        output = reluLinear(128, classes, name: "fc3", backend: backend, random: &random, dtype: dtype)
    }

    var parameters: [Variable] { hidden1.parameters + hidden2.parameters + output.parameters }
    var batchNorms: [BatchNorm] { [] }

    func logits(_ images: Variable, training: Bool, seed: UInt64) -> Variable {
        let x = hidden1(images.flattened()).activation(.relu)
        return output(hidden2(x).activation(.relu))
    }
}
