/// One adapted matrix's low-rank update ΔW = B·A (before scaling), in float.
///
/// In GGUF (llama.cpp's layout) `lora_a` has ggml dimensions [inputs, rank] and `lora_b`
/// [rank, outputs]: row-major, A is `rank` rows of `inputs` values and B `outputs` rows of
/// `rank` values — the same matrices PEFT calls `lora_A.weight` and `lora_B.weight`.
public struct LoRAPair: Sendable, Equatable {
    public let rank: Int
    public let inputs: Int
    public let outputs: Int
    /// Row-major [rank, inputs].
    public let a: [Float]
    /// Row-major [outputs, rank].
    public let b: [Float]

    public init(rank: Int, inputs: Int, outputs: Int, a: [Float], b: [Float]) throws {
        guard rank > 0, inputs > 0, outputs > 0, a.count == rank * inputs, b.count == outputs * rank else {
            throw AdapterError(
                "a LoRA pair of rank \(rank), \(inputs) inputs and \(outputs) outputs needs \(rank * inputs) values in A and "
                    + "\(outputs * rank) in B; got \(a.count) and \(b.count)")
        }
        self.rank = rank
        self.inputs = inputs
        self.outputs = outputs
        self.a = a
        self.b = b
    }

    /// ggml dimensions of `lora_a` and `lora_b`.
    public var aDimensions: [Int64] { [Int64(inputs), Int64(rank)] }
    public var bDimensions: [Int64] { [Int64(rank), Int64(outputs)] }
}
