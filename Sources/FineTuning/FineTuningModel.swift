import Autograd
import Compute
import GGUF
import Models
import NeuralNetworks
import TensorOps
import Tensors
import Tokenizers

/// A pretrained decoder as a training model: the base frozen in its stored type, LoRA updates on
/// the configured projections. One file per architecture (`LlamaLoRA`, `Gemma3LoRA`), each the
/// training twin of its inference file in Models, checked against it by the tests.
public protocol FineTuningModel: AnyObject {
    var configuration: ModelConfiguration { get }
    var backend: any TensorBackend { get }
    /// The projections that carry a LoRA update, by base tensor name ("blk.3.attn_q.weight").
    var adapted: [String: LoRALinear] { get }
    /// Longest sequence the training forward pass handles exactly (Gemma 3's sliding window), nil = the context.
    var maximumSequenceLength: Int? { get }
    /// The final normalised hidden states [B·T, width] for token ids [B, T] (i32).
    func hidden(_ ids: Tensor, checkpointing: Bool) -> Variable
    /// The output projection (tied to the embedding table when the file ties them).
    var output: Weight { get }
}

extension FineTuningModel {
    /// The trainable parameters (every A and B), in a fixed order: by layer, then target.
    public var parameters: [Variable] {
        adapted.keys.sorted(by: Self.tensorOrder).flatMap { adapted[$0]!.parameters }
    }

    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Logits [B·T, vocabulary] for every position.
    public func logits(_ ids: Tensor, checkpointing: Bool = false) -> Variable {
        hidden(ids, checkpointing: checkpointing).frozenLinear(output)
    }

    /// Mean cross-entropy over the targets that count (i32 [B, T]; -1 = not trained). Only those
    /// positions go through the vocabulary projection: with prompt masking most positions do not,
    /// and the projection is the widest matrix of a small model.
    public func loss(_ ids: Tensor, targets: Tensor, checkpointing: Bool = false) -> Variable {
        let host = backend.int32s(targets)
        let positions = host.indices.filter { host[$0] >= 0 }.map { Int32($0) }
        let hidden = hidden(ids, checkpointing: checkpointing)
        let selected = hidden.embeddingLookup(backend.tensor(positions, shape: [positions.count]))
        let kept = backend.tensor(positions.map { host[Int($0)] }, shape: [positions.count])
        return selected.frozenLinearCrossEntropy(output, targets: kept)
    }

    /// "blk.2.attn_q.weight" before "blk.10.attn_k.weight": by layer number, then by target order.
    static func tensorOrder(_ a: String, _ b: String) -> Bool {
        func key(_ name: String) -> (Int, Int) {
            let parts = name.split(separator: ".")
            let layer = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
            let target = LoRATarget.allCases.firstIndex { parts.count > 2 && $0.ggufName == parts[2] } ?? 0
            return (layer, target)
        }
        return key(a) < key(b)
    }
}

/// Opens a GGUF model for fine-tuning, picking the architecture as inference does.
public enum FineTuningModels {
    public static let supportedArchitectures = ["gemma3", "llama", "mistral"]

    public static func load(file: GGUFFile, lora: LoRAConfiguration, backend: any TensorBackend, seed: UInt64) throws
        -> (model: any FineTuningModel, tokenizer: any Tokenizer)
    {
        guard let architecture = file.metadata.architecture else {
            throw FineTuningError("\(file.source): general.architecture is missing; cannot tell which model this is")
        }
        guard supportedArchitectures.contains(architecture) else {
            throw FineTuningError(
                "\(file.source): fine-tuning supports \(supportedArchitectures.joined(separator: ", ")) models, not \"\(architecture)\"")
        }
        let tokenizer = try TokenizerLoader.load(from: file.metadata)
        let configuration = try ModelConfiguration(metadata: file.metadata, source: file.source, vocabularySize: tokenizer.vocabularySize)
        var base = FrozenBase(file: file, backend: backend, lora: lora, seed: seed)
        let model: any FineTuningModel =
            architecture == "gemma3"
            ? try Gemma3LoRA(configuration: configuration, base: &base)
            : try LlamaLoRA(configuration: configuration, base: &base)
        return (model, tokenizer)
    }
}

extension TensorBackend {
    func int32s(_ tensor: Tensor) -> [Int32] {
        let dense = contiguous(tensor)
        var values = [Int32](repeating: 0, count: dense.count)
        values.withUnsafeMutableBytes { download(dense, into: $0) }
        return values
    }
}
