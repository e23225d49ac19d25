import Foundation

/// llama.cpp's outputs on SmolLM2-135M-Instruct Q4_1 (copied from the project's shared reference).
struct LlamaCppReference: Decodable {
    struct Greedy: Decodable {
        let prompt: String
        let prompt_ids: [Int32]
        let bos_added: Bool
        let generated_ids: [Int32]
        let first_fragile_step: Int?
        /// llama.cpp's logit gap between its first and second choice at each step.
        let margin_per_step: [Double]
        /// Per step: five [id, logprob] pairs.
        let top5_per_step: [[[Double]]]
    }
    struct Perplexity: Decodable {
        let n_ctx_128: Double
        let n_ctx_512: Double
        let chunks_at_128: Int
    }
    let greedy: [Greedy]
    let perplexity: Perplexity
    let peak_rss_MiB_ctx_2048: Int

    static func load(_ name: String = "llamacpp-smollm2.json") throws -> LlamaCppReference {
        let here = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent()
        return try JSONDecoder().decode(LlamaCppReference.self, from: Data(contentsOf: here.appendingPathComponent("Fixtures/\(name)")))
    }
}
