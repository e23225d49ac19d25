import Autograd
import NeuralNetworks
import TensorOps
import Tensors
import Testing

@testable import Vision

/// LeNet-5's forward pass, gradients and five SGD (Nesterov, weight decay) steps with label
/// smoothing, against PyTorch float64 from the same initial weights and batch
/// (scripts/dev/make-vision-fixtures.py: lenet-sgd.gguf).
@Suite struct LeNetReferenceTests {
    let backend = CPUTensorBackend(threads: 2)

    /// f32 tolerance: PyTorch's own f32 run is 1.8e-7 from its f64 one; our summation order differs.
    @Test(arguments: [0, 1]) func lenetTrainsAsPyTorchDoes(_ precision: Int) throws {
        let (dtype, tolerance) = [(DType.f64, 1e-6), (DType.f32, 1e-4)][precision]
        let fixture = try Fixture("lenet-sgd.gguf", backend: backend)
        let model = try ImageClassifiers.make(
            .lenet, input: ImageShape(channels: 1, height: 28, width: 28), classes: 10, backend: backend, seed: 1, dtype: dtype)
        #expect(
            model.parameters.map(\.name) == [
                "conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias",
                "fc3.weight", "fc3.bias",
            ])
        for parameter in model.parameters { parameter.assign(try fixture.tensor("initial." + parameter.name, dtype: dtype)) }
        let images = Variable(try fixture.tensor("input", dtype: dtype), backend: backend)
        let labels = try fixture.labels("labels")
        let smoothing = try fixture.number("fixture.label_smoothing")
        let optimizer = SGD(
            parameters: model.parameters, learningRate: try fixture.number("fixture.learning_rate"),
            momentum: try fixture.number("fixture.momentum"), weightDecay: try fixture.number("fixture.weight_decay"),
            nesterov: fixture.file.metadata.bool("fixture.nesterov") ?? false)
        let expectedLosses = try fixture.floats("fixture.losses")
        for step in expectedLosses.indices {
            optimizer.zeroGradients()
            let logits = model.logits(images, training: true, seed: 0)
            let loss = logits.crossEntropy(targets: labels, labelSmoothing: smoothing)
            let value = backend.doubles(loss.value)[0]
            #expect(
                abs(value - expectedLosses[step]) <= tolerance * expectedLosses[step],
                "step \(step): loss \(value), PyTorch \(expectedLosses[step])")
            loss.backward()
            if step == 0 {
                try fixture.expect(logits.value, matches: "logits", tolerance: tolerance)
                for parameter in model.parameters {
                    try fixture.expect(parameter.gradient!, matches: "gradient." + parameter.name, tolerance: tolerance)
                }
            }
            optimizer.step()
        }
        for parameter in model.parameters { try fixture.expect(parameter.value, matches: "final." + parameter.name, tolerance: tolerance) }
    }
}
