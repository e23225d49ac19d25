import GGUF

extension LoRAAdapter {
    /// Checks that this adapter belongs to `base`: the same architecture, and every adapted tensor
    /// present with exactly the shape the pair implies (llama.cpp: base ne[0] = A's ne[0] = inputs,
    /// base ne[1] = B's ne[1] = outputs).
    public func validate(against base: GGUFFile) throws {
        let modelArchitecture = base.metadata.architecture ?? "(no general.architecture)"
        guard architecture == modelArchitecture else {
            throw AdapterError(
                "adapter \(source) was trained for \(architecture), the model \(base.source) is \(modelArchitecture)")
        }
        for name in orderedNames {
            let pair = pairs[name]!
            if name == "token_embd.weight" {
                // llama.cpp flips A and B for the embedding (a row lookup, not a product); no trainer
                // here writes one, and running it would need a second code path.
                throw AdapterError("adapter \(source): a LoRA pair for token_embd.weight is not supported")
            }
            guard let tensor = base.tensor(named: name) else {
                throw AdapterError(
                    "adapter \(source) is for another base model: it adapts \(name), which the model \(base.source) does not have")
            }
            let expected = [Int64(pair.inputs), Int64(pair.outputs)]
            guard tensor.dimensions == expected else {
                throw AdapterError(
                    "adapter \(source) is for another base model: \(name) is \(tensor.dimensions) in the model \(base.source), "
                        + "the adapter's pair makes \(expected) (lora_a \(pair.aDimensions), lora_b \(pair.bDimensions))")
            }
        }
    }
}
