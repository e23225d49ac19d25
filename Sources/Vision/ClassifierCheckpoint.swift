import Autograd
import FoundationEssentials
import GGUF
import TensorOps
import Tensors

/// A training checkpoint: the model file's contents plus the optimizer's velocities, the recipe and
/// the progress (JSON metadata). Written atomically after every epoch and on Ctrl-C, so a killed
/// run keeps its last good checkpoint.
public enum ClassifierCheckpoint {
    public static func write(
        _ model: any ImageClassifier, description: ClassifierFile.Description, recipe: ClassifierRecipe, progress: ClassifierProgress,
        optimizerState: [(name: String, tensor: Tensor)], to path: String
    ) throws {
        var metadata = ClassifierFile.metadata(description, type: "checkpoint")
        let encoder = JSONEncoder()
        metadata["atelier.recipe"] = .string(String(decoding: try encoder.encode(recipe), as: UTF8.self))
        metadata["atelier.progress"] = .string(String(decoding: try encoder.encode(progress), as: UTF8.self))
        var writer = GGUFWriter(metadata: metadata)
        let backend = model.parameters[0].backend
        try ClassifierFile.addTensors(
            ClassifierFile.namedTensors(model) + optimizerState.map { ($0.name, $0.tensor.shape, backend.floats($0.tensor)) }, to: &writer)
        try writer.write(to: path)
    }

    public struct Contents {
        public var model: any ImageClassifier
        public var description: ClassifierFile.Description
        public var recipe: ClassifierRecipe
        public var progress: ClassifierProgress
        let file: GGUFFile
        let path: String

        /// Copies the saved velocities into the optimizer's state tensors.
        public func restoreOptimizerState(_ state: [(name: String, tensor: Tensor)], backend: any TensorBackend) throws {
            for (name, tensor) in state {
                guard let info = file.tensor(named: name), info.type == .f32, info.dimensions.reversed().map(Int.init) == tensor.shape
                else {
                    throw VisionError.modelFile(
                        path: path, reason: "optimizer state \(name) \(tensor.shape) is missing or has another shape")
                }
                let data = file.data(for: info)
                let values = (0..<tensor.count).map { data.load(fromByteOffset: $0 * 4, as: Float.self) }
                backend.copy(backend.tensor(values, shape: tensor.shape), into: tensor)
            }
        }
    }

    public static func read(from path: String, backend: any TensorBackend) throws -> Contents {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw VisionError.modelFile(path: path, reason: "\(error)") }
        guard file.metadata.string("general.type") == "checkpoint" else {
            throw VisionError.modelFile(path: path, reason: "not a training checkpoint (general.type is not checkpoint)")
        }
        let description = try ClassifierFile.describe(file, path: path)
        let decoder = JSONDecoder()
        func decode<T: Decodable>(_ type: T.Type, _ key: String) throws -> T {
            guard let text = file.metadata.string(key) else {
                throw VisionError.modelFile(path: path, reason: "metadata \(key) is missing")
            }
            do { return try decoder.decode(T.self, from: Data(text.utf8)) } catch {
                throw VisionError.modelFile(path: path, reason: "metadata \(key) is not valid: \(error)")
            }
        }
        let recipe = try decode(ClassifierRecipe.self, "atelier.recipe")
        let progress = try decode(ClassifierProgress.self, "atelier.progress")
        let model = try ImageClassifiers.make(
            description.architecture, input: description.input, classes: description.classNames.count, backend: backend, seed: recipe.seed)
        try ClassifierFile.restore(model, from: file, path: path)
        return Contents(model: model, description: description, recipe: recipe, progress: progress, file: file, path: path)
    }
}
