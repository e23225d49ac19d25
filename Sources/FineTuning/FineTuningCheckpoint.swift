import Autograd
import FoundationEssentials
import GGUF
import TensorOps
import Tensors

/// A resumable fine-tuning checkpoint: a GGUF of the LoRA matrices and AdamW's moments (f32), the
/// recipe and progress (data position included) as JSON metadata. Written atomically, so a killed
/// run keeps its previous checkpoint.
public enum FineTuningCheckpoint {
    static let kind = "atelier-finetune-checkpoint"

    public struct Contents {
        public var recipe: FineTuningRecipe
        public var progress: FineTuningProgress
        public var baseModel: String
        public var tensors: [String: (shape: [Int], values: [Float])]
    }

    public static func write(
        to path: String, recipe: FineTuningRecipe, progress: FineTuningProgress, parameters: [Variable],
        optimizerState: [(name: String, tensor: Tensor)], baseModel: String = ""
    ) throws {
        var metadata = GGUFMetadata()
        metadata["general.architecture"] = .string(kind)
        metadata["general.type"] = .string("checkpoint")
        let encoder = JSONEncoder()
        metadata["atelier.finetune.recipe"] = .string(String(decoding: try encoder.encode(recipe), as: UTF8.self))
        metadata["atelier.finetune.progress"] = .string(String(decoding: try encoder.encode(progress), as: UTF8.self))
        var writer = GGUFWriter(metadata: metadata)
        guard let backend = parameters.first?.backend else { throw FineTuningError("checkpoint \(path): no parameters to save") }
        for (name, tensor) in parameters.map({ ($0.name, $0.value) }) + optimizerState.map({ ($0.name, $0.tensor) }) {
            let bytes = backend.floats(tensor).withUnsafeBytes { [UInt8]($0) }
            try writer.addTensor(name: name, type: .f32, dimensions: tensor.shape.reversed().map(Int64.init), data: bytes)
        }
        do { try writer.write(to: path) } catch { throw FineTuningError("checkpoint \(path) could not be written: \(error)") }
    }

    public static func read(from path: String) throws -> Contents {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw FineTuningError("checkpoint \(path): \(error)") }
        guard file.metadata.string("general.architecture") == kind else {
            throw FineTuningError(
                "\(path) is not a fine-tuning checkpoint (general.architecture is \(file.metadata.architecture ?? "missing"))")
        }
        func decode<T: Decodable>(_ type: T.Type, _ key: String) throws -> T {
            guard let text = file.metadata.string(key) else { throw FineTuningError("checkpoint \(path): metadata \(key) is missing") }
            do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch {
                throw FineTuningError("checkpoint \(path): metadata \(key) is not valid: \(error)")
            }
        }
        var tensors: [String: (shape: [Int], values: [Float])] = [:]
        for info in file.tensors {
            guard info.type == .f32 else {
                throw FineTuningError("checkpoint \(path): tensor \(info.name) is \(info.type.name), expected F32")
            }
            let data = file.data(for: info)
            let count = Int(info.elementCount)
            let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: data.prefix(count * 4)))
                initialized = count
            }
            tensors[info.name] = (info.dimensions.reversed().map(Int.init), values)
        }
        return Contents(
            recipe: try decode(FineTuningRecipe.self, "atelier.finetune.recipe"),
            progress: try decode(FineTuningProgress.self, "atelier.finetune.progress"), baseModel: "", tensors: tensors)
    }
}
