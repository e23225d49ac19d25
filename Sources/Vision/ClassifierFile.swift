import Autograd
import GGUF
import HuggingFaceFormats
import ImageData
import NeuralNetworks
import TensorOps
import Tensors

/// A trained classifier as one GGUF file: the architecture, input shape, class names and the
/// normalisation the pixels need in metadata; parameters and batch-norm running statistics as f32
/// tensors under their layer names (PyTorch's names: `conv1.weight`, `stage1.block1.bn1.running_mean`).
/// Written atomically. A training checkpoint is the same file with optimizer state and progress added.
public enum ClassifierFile {
    static let kind = "atelier-image-classifier"

    public struct Description: Sendable, Equatable {
        public var architecture: ClassifierArchitecture
        public var input: ImageShape
        public var classNames: [String]
        public var normalization: Normalization

        public init(architecture: ClassifierArchitecture, input: ImageShape, classNames: [String], normalization: Normalization) {
            self.architecture = architecture
            self.input = input
            self.classNames = classNames
            self.normalization = normalization
        }
    }

    /// Every tensor the model file holds, by name: parameters, then running statistics.
    static func namedTensors(_ model: any ImageClassifier) -> [(name: String, shape: [Int], values: [Float])] {
        let backend = model.parameters[0].backend
        var tensors = model.parameters.map { ($0.name, $0.shape, backend.floats($0.value)) }
        for norm in model.batchNorms {
            for (name, values) in norm.statistics { tensors.append((name, [values.count], values.map(Float.init))) }
        }
        return tensors
    }

    static func metadata(_ description: Description, type: String) -> GGUFMetadata {
        var metadata = GGUFMetadata()
        metadata["general.architecture"] = .string(kind)
        metadata["general.type"] = .string(type)
        metadata["classifier.architecture"] = .string(description.architecture.rawValue)
        metadata["classifier.input"] = .array(
            .int32([description.input.channels, description.input.height, description.input.width].map(Int32.init)))
        metadata["classifier.classes"] = .array(.string(description.classNames))
        metadata["classifier.normalization.mean"] = .array(.float32(description.normalization.mean))
        metadata["classifier.normalization.std"] = .array(.float32(description.normalization.std))
        return metadata
    }

    public static func write(_ model: any ImageClassifier, description: Description, to path: String) throws {
        var writer = GGUFWriter(metadata: metadata(description, type: "model"))
        try addTensors(namedTensors(model), to: &writer)
        try writer.write(to: path)
    }

    /// The same tensors as a safetensors file (for PyTorch users), metadata as its string map.
    public static func writeSafetensors(_ model: any ImageClassifier, description: Description, to path: String) throws {
        let tensors = namedTensors(model).map { Safetensors.Tensor(name: $0.name, shape: $0.shape, values: $0.values) }
        let metadata: [(String, String)] = [
            ("format", "pt"), ("architecture", description.architecture.rawValue),
            ("input", "\(description.input.channels)x\(description.input.height)x\(description.input.width)"),
            ("classes", description.classNames.joined(separator: ",")),
        ]
        try writeAtomically(Safetensors.serialize(tensors, metadata: metadata), to: path)
    }

    /// Bytes to `path` through a temporary file and a rename: a reader never sees half a file.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws {
        do throws(AtomicFile.Failure) {
            try AtomicFile.write(bytes, to: path)
        } catch {
            switch error {
            case .create(let temporary, let reason):
                throw VisionError.modelFile(path: path, reason: "cannot create \(temporary): \(reason)")
            case .write(let reason): throw VisionError.modelFile(path: path, reason: "cannot write: \(reason)")
            case .rename(let temporary, let reason):
                throw VisionError.modelFile(path: path, reason: "cannot rename \(temporary): \(reason)")
            }
        }
    }

    static func addTensors(_ tensors: [(name: String, shape: [Int], values: [Float])], to writer: inout GGUFWriter) throws {
        for (name, shape, values) in tensors {
            let bytes = values.withUnsafeBytes { [UInt8]($0) }
            try writer.addTensor(name: name, type: .f32, dimensions: shape.reversed().map(Int64.init), data: bytes)
        }
    }

    /// Reads a model file (or a checkpoint) back into a classifier on `backend`.
    public static func read(from path: String, backend: any TensorBackend) throws -> (model: any ImageClassifier, description: Description)
    {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw VisionError.modelFile(path: path, reason: "\(error)") }
        let description = try describe(file, path: path)
        let model = try ImageClassifiers.make(
            description.architecture, input: description.input, classes: description.classNames.count, backend: backend, seed: 0)
        try restore(model, from: file, path: path)
        return (model, description)
    }

    static func describe(_ file: GGUFFile, path: String) throws -> Description {
        func fail(_ reason: String) -> VisionError { .modelFile(path: path, reason: reason) }
        guard file.metadata.architecture == kind else {
            throw fail("not an image classifier (general.architecture is \(file.metadata.architecture ?? "missing"), expected \(kind))")
        }
        guard let name = file.metadata.string("classifier.architecture"), let architecture = ClassifierArchitecture(rawValue: name) else {
            throw fail(
                "classifier.architecture is \(file.metadata.string("classifier.architecture") ?? "missing"); expected one of "
                    + ClassifierArchitecture.allCases.map(\.rawValue).joined(separator: ", "))
        }
        guard case .int32(let dims)? = file.metadata.array("classifier.input"), dims.count == 3, dims.allSatisfy({ $0 >= 1 && $0 <= 4096 })
        else { throw fail("classifier.input must be [channels, height, width], each 1…4096") }
        guard let classes = file.metadata.array("classifier.classes")?.strings, classes.count >= 2 else {
            throw fail("classifier.classes must list at least 2 class names")
        }
        let channels = Int(dims[0])
        guard let mean = file.metadata.array("classifier.normalization.mean")?.floats,
            let std = file.metadata.array("classifier.normalization.std")?.floats, mean.count == channels, std.count == channels,
            std.allSatisfy({ $0 > 0 && $0.isFinite }), mean.allSatisfy(\.isFinite)
        else { throw fail("classifier.normalization.mean/std must hold \(channels) finite values (std > 0)") }
        return Description(
            architecture: architecture, input: ImageShape(channels: channels, height: Int(dims[1]), width: Int(dims[2])),
            classNames: classes, normalization: Normalization(mean: mean, std: std))
    }

    /// Loads every parameter and running statistic of `model` from the file, checking names and shapes.
    static func restore(_ model: any ImageClassifier, from file: GGUFFile, path: String) throws {
        func values(_ name: String, shape: [Int]) throws -> [Float] {
            guard let info = file.tensor(named: name) else { throw VisionError.modelFile(path: path, reason: "tensor \(name) is missing") }
            let stored = info.dimensions.reversed().map(Int.init)
            guard info.type == .f32, stored == shape else {
                throw VisionError.modelFile(path: path, reason: "tensor \(name) is \(info.type) \(stored); expected f32 \(shape)")
            }
            let data = file.data(for: info)
            return (0..<shape.reduce(1, *)).map { data.load(fromByteOffset: $0 * 4, as: Float.self) }
        }
        for parameter in model.parameters {
            let backend = parameter.backend
            let host = backend.tensor(try values(parameter.name, shape: parameter.shape), shape: parameter.shape)
            parameter.assign(parameter.dtype == .f32 ? host : converted(host, to: parameter.dtype, backend: backend))
        }
        for norm in model.batchNorms {
            let names = norm.statistics.map(\.name)
            let mean = try values(names[0], shape: [norm.channels]), variance = try values(names[1], shape: [norm.channels])
            guard variance.allSatisfy({ $0 >= 0 && $0.isFinite }), mean.allSatisfy(\.isFinite) else {
                throw VisionError.modelFile(path: path, reason: "\(names[1]) or \(names[0]) holds negative or non-finite values")
            }
            norm.setStatistics(mean: mean.map(Double.init), variance: variance.map(Double.init))
        }
    }

    static func converted(_ tensor: Tensor, to dtype: DType, backend: any TensorBackend) -> Tensor {
        let result = backend.zeros(tensor.shape, dtype: dtype)
        backend.copy(tensor, into: result)
        return result
    }
}
