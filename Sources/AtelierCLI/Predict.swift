import ArgumentParser
import Autograd
import HuggingFaceFormats
import ImageData
import ModelInspection
import TensorOps
import Vision

struct Predict: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Classify pictures (PNG, JPEG, BMP, GIF) with a model from `atelier train classifier`.",
        discussion: """
            Each picture is converted to the model's channels and resized to its input (the aspect ratio
            is not kept), normalised as in training, and the top classes are printed with their
            probabilities. Fashion-MNIST shows light objects on black: photos of dark objects on a
            light background need --invert.
              atelier predict fashion.gguf sneaker.jpg shirt.png --top 3
            """)

    @Argument(help: "The classifier (.gguf).") var model: String
    @Argument(help: "Picture files.") var images: [String] = []
    @Option(help: "Classes to show per picture.") var top = 3
    @Flag(help: "Invert the pixels (255 − value) before classifying.") var invert = false
    @Flag(help: "One JSON object per picture on stdout.") var json = false
    @Option(help: "Threads (default: 1; one picture is a small job).") var threads = 1

    func validate() throws {
        if images.isEmpty { throw ValidationError("missing IMAGE...: the pictures to classify") }
        guard top >= 1 else { throw ValidationError("--top \(top): expected ≥ 1") }
        guard threads >= 1 && threads <= 1024 else { throw ValidationError("--threads \(threads): expected 1…1024") }
    }

    func run() throws {
        try CPUTensorBackend.requireBLAS()
        let backend = CPUTensorBackend(threads: threads)
        let (network, description) = try ClassifierFile.read(from: model, backend: backend)
        let input = description.input
        var failures = 0
        for path in images {
            let pixels: [UInt8]
            do {
                pixels = try DecodedImage.read(path: path).resized(width: input.width, height: input.height, channels: input.channels)
            } catch {
                Terminal.status("error: \(error)")
                failures += 1
                continue
            }
            var values = [Float](repeating: 0, count: input.count)
            let plane = input.height * input.width
            for i in 0..<input.count {
                let channel = i / plane
                let pixel = Float(invert ? 255 - pixels[i] : pixels[i]) / 255
                values[i] = (pixel - description.normalization.mean[channel]) / description.normalization.std[channel]
            }
            let probabilities = withoutGradients {
                let x = Variable(backend.tensor(values, shape: [1, input.channels, input.height, input.width]), backend: backend)
                return backend.doubles(network.logits(x, training: false, seed: 0).softmax().value)
            }
            let ranked = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] }.prefix(top)
            if json {
                let entries = ranked.map {
                    "{\"class\":\(JSONLiteral.string(description.classNames[$0])),\"index\":\($0),\"probability\":\(probabilities[$0])}"
                }
                Terminal.write("{\"file\":\(JSONLiteral.string(path)),\"predictions\":[\(entries.joined(separator: ","))]}\n")
            } else {
                let text = ranked.enumerated().map {
                    "\($0.offset + 1). \(description.classNames[$0.element]) \(Format.fixed(probabilities[$0.element] * 100, 1))%"
                }
                Terminal.write("\(path): \(text.joined(separator: "  "))\n")
            }
        }
        if failures > 0 { throw ExitCode(1) }
    }
}
