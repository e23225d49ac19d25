import Autograd
import FoundationEssentials
import GGUF
import NeuralNetworks
import TensorOps
import Tensors

/// Where a run stands, beyond its tensors: what a resumed run needs to continue bit for bit.
public struct TrainingProgress: Sendable, Equatable, Codable {
    /// Optimizer steps completed.
    public var step = 0
    /// The data sampler's generator (the data position).
    public var dataRandom: SeededRandom
    public var tokensSeen = 0
    public var elapsedSeconds = 0.0
    public var lastValidationLoss: Double?
    public var bestValidationLoss: Double?

    public init(seed: UInt64) { dataRandom = SeededRandom(seed: seed) }
}

/// A checkpoint is a GGUF file: the parameters and the optimizer's moments as f32 tensors, the
/// hyperparameters, recipe and progress as JSON metadata. Written atomically (a temporary file,
/// fsync, rename), so a failure — a full disk, a kill — leaves the previous checkpoint intact.
public enum Checkpoint {
    static let kind = "atelier-training-checkpoint"

    public struct Contents {
        public var hyperparameters: LlamaHyperparameters
        public var configuration: TrainingConfiguration
        public var progress: TrainingProgress
        public var tokenizer: String
        /// Parameters and optimizer state by name (host f32 values).
        public var tensors: [String: (shape: [Int], values: [Float])]
    }

    public static func write(
        to path: String, hyperparameters: LlamaHyperparameters, configuration: TrainingConfiguration, progress: TrainingProgress,
        tokenizer: String, parameters: [Variable], optimizerState: [(name: String, tensor: Tensor)]
    ) throws {
        var metadata = GGUFMetadata()
        metadata["general.architecture"] = .string(kind)
        metadata["general.type"] = .string("checkpoint")
        let encoder = JSONEncoder()
        func json<T: Encodable>(_ value: T) throws -> GGUFValue { .string(String(decoding: try encoder.encode(value), as: UTF8.self)) }
        metadata["atelier.hyperparameters"] = try json(hyperparameters)
        metadata["atelier.configuration"] = try json(configuration)
        metadata["atelier.progress"] = try json(progress)
        metadata["atelier.tokenizer"] = .string(tokenizer)
        var writer = GGUFWriter(metadata: metadata)
        let named = parameters.map { ($0.name, $0.value, $0.backend) } + optimizerState.map { ($0.name, $0.tensor, parameters[0].backend) }
        for (name, tensor, backend) in named {
            let values = backend.floats(tensor)
            let bytes = values.withUnsafeBytes { [UInt8]($0) }
            try writer.addTensor(name: name, type: .f32, dimensions: tensor.shape.reversed().map(Int64.init), data: bytes)
        }
        do {
            try writer.write(to: path)
        } catch {
            throw TrainingError.checkpoint(path: path, reason: "\(error)")
        }
    }

    public static func read(from path: String) throws -> Contents {
        let file: GGUFFile
        do { file = try GGUFFile(path: path) } catch { throw TrainingError.checkpoint(path: path, reason: "\(error)") }
        guard file.metadata.string("general.architecture") == kind else {
            throw TrainingError.checkpoint(
                path: path, reason: "not a training checkpoint (general.architecture is \(file.metadata.architecture ?? "missing"))")
        }
        let decoder = JSONDecoder()
        func decode<T: Decodable>(_ type: T.Type, _ key: String) throws -> T {
            guard let text = file.metadata.string(key) else {
                throw TrainingError.checkpoint(path: path, reason: "metadata \(key) is missing")
            }
            do { return try decoder.decode(T.self, from: Data(text.utf8)) } catch {
                throw TrainingError.checkpoint(path: path, reason: "metadata \(key) is not valid: \(error)")
            }
        }
        var tensors: [String: (shape: [Int], values: [Float])] = [:]
        for info in file.tensors {
            guard info.type == .f32 else {
                throw TrainingError.checkpoint(path: path, reason: "tensor \(info.name) is \(info.type), expected F32")
            }
            let data = file.data(for: info)
            let values = [Float](unsafeUninitializedCapacity: Int(info.elementCount)) { buffer, count in
                UnsafeMutableRawBufferPointer(buffer).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: data.prefix(Int(info.elementCount) * 4)))
                count = Int(info.elementCount)
            }
            tensors[info.name] = (info.dimensions.reversed().map(Int.init), values)
        }
        return Contents(
            hyperparameters: try decode(LlamaHyperparameters.self, "atelier.hyperparameters"),
            configuration: try decode(TrainingConfiguration.self, "atelier.configuration"),
            progress: try decode(TrainingProgress.self, "atelier.progress"),
            tokenizer: file.metadata.string("atelier.tokenizer") ?? "bytes", tensors: tensors)
    }
}
