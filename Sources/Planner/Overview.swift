/// "I have this GPU: what can I run, fine-tune, train?" — every catalog language model against
/// every task, with the memory each needs.
public struct Overview: Codable, Sendable {
    public enum Task: String, Codable, Sendable, CaseIterable {
        case inferenceF16 = "FP16"
        case inferenceQ8 = "Q8_0"
        case inferenceQ4 = "Q4_K_M"
        case lora = "LoRA"
        case qlora = "QLoRA"
        case full = "full FT"
    }
    public enum Outcome: String, Codable, Sendable { case fits, partial, no }
    public struct Cell: Codable, Sendable {
        public var task: Task
        public var outcome: Outcome
        /// Memory the task needs on the GPU (everything, for a full-GPU run).
        public var bytes: Int64
    }
    public struct Row: Codable, Sendable {
        public var model: String
        public var parameters: Int64
        public var cells: [Cell]
    }

    public var hardware: String
    public var gpuBudget: Int64
    public var contextLength: Int
    /// Training tasks: sequence 1024, micro-batch 1, gradient checkpointing, flash attention,
    /// LoRA rank 16 on all linear layers — a common home fine-tuning setup.
    public var trainingSetup: String
    public var rows: [Row]

    public static func make(hardware: HardwareTarget, contextLength: Int) -> Overview {
        let training = { (method: TrainingSettings.Method) in
            TrainingSettings(
                method: method, sequenceLength: 1024, microBatch: 1, loraRank: 16,
                loraTargets: ["q", "k", "v", "o", "gate", "up", "down"], gradientCheckpointing: true)
        }
        let rows = Catalog.models.compactMap { model -> Row? in
            guard let shape = model.shape, !shape.isEncoder else { return nil }
            var cells: [Cell] = []
            for (task, mix) in [(Task.inferenceF16, QuantMix.f16), (.inferenceQ8, .q8_0), (.inferenceQ4, .q4_K_M)] {
                let settings = InferenceSettings(contextLength: min(contextLength, shape.contextLength))
                let full = InferencePlan.make(
                    shape: shape, inventory: WeightInventory(shape: shape, mix: mix), settings: settings,
                    engine: .llamaCpp, hardware: hardware, gpuLayers: shape.layers + 1)
                let auto = InferencePlan.make(
                    shape: shape, inventory: WeightInventory(shape: shape, mix: mix), settings: settings,
                    engine: .llamaCpp, hardware: hardware)
                let outcome: Outcome = auto.verdict == .fitsGPU ? .fits : auto.verdict == .doesNotFit ? .no : .partial
                cells.append(Cell(task: task, outcome: outcome, bytes: full.gpu.total))
            }
            for (task, method) in [(Task.lora, TrainingSettings.Method.lora), (.qlora, .qlora), (.full, .full)] {
                let memory = TrainingMemory.estimate(shape: shape, settings: training(method))
                cells.append(
                    Cell(task: task, outcome: memory.devicePeak <= hardware.gpuBudgetBytes ? .fits : .no, bytes: memory.devicePeak))
            }
            return Row(model: model.name, parameters: shape.parameterCount, cells: cells)
        }.sorted { $0.parameters < $1.parameters }
        return Overview(
            hardware: hardware.label, gpuBudget: hardware.gpuBudgetBytes, contextLength: contextLength,
            trainingSetup: "sequence 1024, micro-batch 1, gradient checkpointing, LoRA/QLoRA rank 16 on all linear layers, AdamW",
            rows: rows)
    }
}
