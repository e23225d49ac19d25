import Autograd
import TensorOps
import Tensors

#if canImport(Glibc)
import Glibc
#endif

extension LlamaGPT {
    /// The end-of-training numbers from one forward pass over non-overlapping chunks of `context`
    /// tokens: the mean loss over every position (each predicting the token after it), and the
    /// perplexity by llama.cpp's rule (`llama-perplexity`, and `atelier perplexity`, which mirrors it:
    /// positions context/2 … context−2 of each chunk scored with the token that follows), so the
    /// exported file can be checked against both tools on the same text. `tokens` is the text's
    /// tokenization (the bytes of the text without a final newline, as those tools read a file).
    /// nil when there is not one whole chunk.
    public func validationMetrics(_ tokens: [Int32], context: Int, batchSize: Int) -> (loss: Double, perplexity: Double)? {
        let chunks = tokens.count / context
        guard chunks >= 1, context >= 4 else { return nil }
        return withoutGradients {
            var (allTotal, allCount) = (0.0, 0)
            var (ruleTotal, ruleCount) = (0.0, 0)
            var chunk = 0
            while chunk < chunks {
                let count = min(batchSize, chunks - chunk)
                var inputs = [Int32](), every = [Int32](), rule = [Int32]()
                for c in chunk..<(chunk + count) {
                    let start = c * context
                    inputs += tokens[start..<(start + context)]
                    every += (0..<context).map { j in start + j + 1 < tokens.count ? tokens[start + j + 1] : -1 }
                    rule += (0..<context).map { j in j >= context / 2 && j <= context - 2 ? tokens[start + j + 1] : -1 }
                }
                let logits = self.logits(backend.tensor(inputs, shape: [count, context]))
                let counted = (every: every.count { $0 >= 0 }, rule: count * (context - 1 - context / 2))
                let everyLoss = logits.crossEntropy(targets: backend.tensor(every, shape: [count * context]))
                let ruleLoss = logits.crossEntropy(targets: backend.tensor(rule, shape: [count * context]))
                allTotal += backend.doubles(everyLoss.value)[0] * Double(counted.every)
                allCount += counted.every
                ruleTotal += backend.doubles(ruleLoss.value)[0] * Double(counted.rule)
                ruleCount += counted.rule
                chunk += count
            }
            return (allTotal / Double(allCount), exp(ruleTotal / Double(ruleCount)))
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
