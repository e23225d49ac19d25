import Autograd
import Compute
import GGUF
import Models
import NeuralNetworks
import TensorOps
import Tensors

/// The weights of a pretrained GGUF model as a frozen base: matrices stay in their stored
/// (quantized) type in the inference backend's memory — views of the mapped file — and the
/// adapted projections get fresh LoRA updates. Every tensor goes through the inference loader's
/// checks (`WeightLoader`), so a file that inference refuses is refused here too, by name.
struct FrozenBase {
    let loader: WeightLoader
    let backend: any TensorBackend
    let lora: LoRAConfiguration
    var random: SeededRandom

    init(file: GGUFFile, backend: any TensorBackend, lora: LoRAConfiguration, seed: UInt64) {
        loader = WeightLoader(file: file, backend: backend.inference)
        self.backend = backend
        self.lora = lora
        random = SeededRandom(seed: seed)
    }

    /// A frozen matrix (ggml shape [inputs, outputs]).
    func matrix(_ name: String, _ shape: [Int]) throws -> Weight { try loader.load(name, shape: shape) }

    /// Block `layer`'s projection `target`, with a LoRA update when the configuration names it.
    mutating func projection(_ target: LoRATarget, layer: Int, inputs: Int, outputs: Int) throws -> LoRALinear {
        let weight = try matrix(target.tensorName(layer: layer), [inputs, outputs])
        guard lora.targets.contains(target) else { return LoRALinear(base: weight) }
        return LoRALinear(
            base: weight, update: LowRankUpdate(for: weight, rank: lora.rank, alpha: lora.alpha, backend: backend, random: &random))
    }

    /// A norm weight as a constant f32 tensor (GGUF norm weights already hold any "+1").
    func norm(_ name: String, _ length: Int) throws -> Variable {
        let weight = try loader.loadNorm(name, length: length)
        let tensor = backend.upload(UnsafeRawBufferPointer(start: weight.data, count: length * 4), shape: [length], dtype: .f32)
        return Variable(tensor, backend: backend, name: name)
    }
}
