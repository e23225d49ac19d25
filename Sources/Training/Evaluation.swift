import Autograd
import TensorOps
import Tensors

#if canImport(Glibc)
import Glibc
#endif

extension LlamaGPT {
    /// Perplexity by llama.cpp's rule (`llama-perplexity`, and `atelier perplexity`, which mirrors it):
    /// non-overlapping chunks of `context` tokens, positions context/2 … context−2 of each scored with
    /// the token that follows. The trainer prints it so the exported file can be checked against
    /// both tools on the same text. `tokens` is the text's tokenization (bytes of the text without a
    /// final newline, as those tools read a file). Returns nil when there is not one whole chunk.
    public func chunkedPerplexity(_ tokens: [Int32], context: Int, batchSize: Int) -> (perplexity: Double, scored: Int)? {
        let chunks = tokens.count / context
        guard chunks >= 1, context >= 4 else { return nil }
        return withoutGradients {
            var total = 0.0
            var scored = 0
            var chunk = 0
            while chunk < chunks {
                let count = min(batchSize, chunks - chunk)
                var inputs = [Int32](), targets = [Int32]()
                for c in chunk..<(chunk + count) {
                    let start = c * context
                    inputs += tokens[start..<(start + context)]
                    targets += (0..<context).map { j in j >= context / 2 && j <= context - 2 ? tokens[start + j + 1] : -1 }
                }
                let ids = backend.tensor(inputs, shape: [count, context])
                let wanted = backend.tensor(targets, shape: [count, context])
                let counted = count * (context - 1 - context / 2)
                total += backend.doubles(loss(ids, targets: wanted).value)[0] * Double(counted)
                scored += counted
                chunk += count
            }
            return (exp(total / Double(scored)), scored)
        }
    }

    /// Greedy continuation of `prompt`: each next token is the arg-max of the logits over the last
    /// `context` tokens (what `atelier run --temp 0` picks while the text fits the context).
    public func greedyContinuation(of prompt: [Int32], count: Int) -> [Int32] {
        let context = hyperparameters.contextLength
        var tokens = prompt
        withoutGradients {
            for _ in 0..<count {
                let window = Array(tokens.suffix(context))
                let logits = self.logits(backend.tensor(window, shape: [1, window.count]))
                let last = backend.floats(logits.value.sliced(axis: 0, (window.count - 1)..<window.count))
                var best = 0
                for index in last.indices where last[index] > last[best] { best = index }
                tokens.append(Int32(best))
            }
        }
        return Array(tokens.dropFirst(prompt.count))
    }
}
