import GGUF
import Quantization

extension LoRAAdapter {
    /// Reads and checks an adapter file: every rule llama.cpp's loader checks (general.type,
    /// adapter.type, pairs complete, A's rank equal to B's, no other tensor names), and more that it
    /// leaves to chance (alpha present and FLOAT32, 2-D pairs, every value finite).
    public static func read(path: String) throws -> LoRAAdapter {
        let file: GGUFFile
        do {
            file = try GGUFFile(path: path)
        } catch {
            throw AdapterError("cannot read LoRA adapter \(path): \(error)")
        }
        return try read(file)
    }

    /// An opened GGUF file as an adapter (see `read(path:)`).
    public static func read(_ file: GGUFFile) throws -> LoRAAdapter {
        let path = file.source
        let metadata = file.metadata
        func text(_ key: String) throws -> String {
            guard let value = metadata[key] else { throw AdapterError("\(path): \(key) is missing; expected a LoRA adapter GGUF") }
            guard let string = value.stringValue else { throw AdapterError("\(path): \(key) is \(value.type), expected STRING") }
            return string
        }
        let generalType = try text("general.type")
        guard generalType == "adapter" else {
            throw AdapterError("\(path): general.type is \"\(generalType)\"; expected \"adapter\" (this file is not a LoRA adapter)")
        }
        let adapterType = try text("adapter.type")
        guard adapterType == "lora" else {
            throw AdapterError("\(path): adapter.type is \"\(adapterType)\"; expected \"lora\"")
        }
        let architecture = try text("general.architecture")
        guard let alphaValue = metadata["adapter.lora.alpha"] else {
            throw AdapterError("\(path): adapter.lora.alpha is missing; expected the adapter's alpha as FLOAT32")
        }
        guard case .float32(let alpha) = alphaValue, alpha.isFinite else {
            throw AdapterError("\(path): adapter.lora.alpha is \(alphaValue.type) \(alphaValue); expected a finite FLOAT32")
        }
        if metadata.contains("adapter.alora.invocation_tokens") {
            throw AdapterError(
                "\(path): adapter.alora.invocation_tokens is set: an activated LoRA (aLoRA) applies only after its invocation "
                    + "tokens, which Atelier does not support")
        }

        var halves: [String: (a: GGUFTensorInfo?, b: GGUFTensorInfo?)] = [:]
        var ignored: [String] = []
        for tensor in file.tensors {
            if tensor.name.hasSuffix(".lora_a") {
                halves[String(tensor.name.dropLast(7)), default: (nil, nil)].a = tensor
            } else if tensor.name.hasSuffix(".lora_b") {
                halves[String(tensor.name.dropLast(7)), default: (nil, nil)].b = tensor
            } else if tensor.name.hasSuffix("_norm.weight") {
                ignored.append(tensor.name)
            } else {
                throw AdapterError(
                    "\(path): tensor \(tensor.name) is neither a .lora_a nor a .lora_b half of a pair (nor a norm vector, which is skipped)"
                )
            }
        }
        var pairs: [String: LoRAPair] = [:]
        for (base, half) in halves {
            guard !base.isEmpty else {
                throw AdapterError("\(path): a tensor is named only \".lora_a\" or \".lora_b\"; expected <base tensor>.lora_a")
            }
            guard let a = half.a, let b = half.b else {
                let missing = half.a == nil ? "lora_a" : "lora_b"
                throw AdapterError("\(path): tensor \(base).\(missing) is missing; the LoRA pair for \(base) needs both halves")
            }
            pairs[base] = try pair(a: a, b: b, base: base, file: file)
        }
        guard !pairs.isEmpty else { throw AdapterError("\(path): the adapter has no LoRA pairs (no *.lora_a / *.lora_b tensors)") }

        var information = GGUFMetadata()
        for entry in metadata.entries where !reservedKeys.contains(entry.key) { information[entry.key] = entry.value }
        var adapter = LoRAAdapter(
            architecture: architecture, alpha: alpha, pairs: pairs, name: metadata.string("general.name"), information: information,
            source: path)
        adapter.ignoredTensors = ignored
        return adapter
    }

    private static func pair(a: GGUFTensorInfo, b: GGUFTensorInfo, base: String, file: GGUFFile) throws -> LoRAPair {
        let path = file.source
        for tensor in [a, b] where tensor.dimensions.count != 2 {
            throw AdapterError("\(path): tensor \(tensor.name) has \(tensor.dimensions.count) dimensions \(tensor.dimensions); expected 2")
        }
        // lora_a is [inputs, rank] and lora_b [rank, outputs] in ggml order (A is stored transposed
        // relative to the old `finetune` example's files, which llama.cpp no longer loads either).
        let rank = a.dimensions[1]
        guard b.dimensions[0] == rank else {
            throw AdapterError(
                "\(path): the ranks of \(base)'s pair differ: \(a.name) \(a.dimensions) has rank \(rank) (its 2nd dimension), "
                    + "\(b.name) \(b.dimensions) has rank \(b.dimensions[0]) (its 1st); expected equal ranks")
        }
        return try LoRAPair(
            rank: Int(rank), inputs: Int(a.dimensions[0]), outputs: Int(b.dimensions[1]),
            a: values(a, file: file), b: values(b, file: file))
    }

    private static func values(_ tensor: GGUFTensorInfo, file: GGUFFile) throws -> [Float] {
        guard Quantization.supportedWeightTypes.contains(tensor.type) else {
            let names = Quantization.supportedWeightTypes.map(\.name).joined(separator: ", ")
            throw AdapterError("\(file.source): tensor \(tensor.name) has type \(tensor.type.name); expected one of \(names)")
        }
        let count = Int(tensor.elementCount)
        let values = [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            Quantization.dequantize(tensor.type, from: file.data(for: tensor).baseAddress!, to: buffer.baseAddress!, count: count)
            initialized = count
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw AdapterError("\(file.source): tensor \(tensor.name) holds \(values[bad]) at element \(bad); expected finite values")
        }
        return values
    }
}
