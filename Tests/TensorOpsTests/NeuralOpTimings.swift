import Autograd
import Foundation
import TensorOps
import Tensors
import Testing

/// Forward and backward times of the neural-network ops at the training shapes (f32); prints,
/// asserts nothing. One thread's CPU time (steady on a shared machine) and two threads' wall time.
@Suite(.serialized) struct NeuralOpTimings {
    static func milliseconds(_ clock: clockid_t) -> Double {
        var spec = timespec()
        clock_gettime(clock, &spec)
        return Double(spec.tv_sec) * 1e3 + Double(spec.tv_nsec) / 1e6
    }

    /// (rows, width, feed-forward width, heads, vocabulary): the small and the large training shapes.
    @Test(.tags(.slow), arguments: [(768, 128, 352, 4, 256), (2048, 384, 1024, 6, 256)])
    func trainingShapes(_ sizes: (Int, Int, Int, Int, Int)) {
        let (rows, width, hidden, heads, vocabulary) = sizes
        let check = GradientCheck()
        for threads in [1, 2] {
            let backend = CPUTensorBackend(threads: threads)
            let clock = threads == 1 ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC
            func single(_ x: Tensor) -> Tensor {
                let result = backend.zeros(x.shape, dtype: .f32)
                backend.copy(x, into: result)
                return result
            }
            func best(_ body: () -> Void) -> Double {
                body()
                var fastest = Double.infinity
                for _ in 0..<20 {
                    let start = NeuralOpTimings.milliseconds(clock)
                    body()
                    fastest = min(fastest, NeuralOpTimings.milliseconds(clock) - start)
                }
                return fastest
            }
            var lines: [String] = []
            func time(_ name: String, _ body: () -> Void) { lines.append("\(name) \(String(format: "%.3f", best(body))) ms") }

            let x = single(check.random([rows, width], seed: 1, scale: 2))
            let g = single(check.random([rows, width], seed: 2))
            let weight = single(check.random([width], seed: 3))
            let ids = backend.tensor((0..<rows).map { Int32($0 * 31 % vocabulary) }, shape: [rows])
            let table = single(check.random([vocabulary, width], seed: 4))
            time("embedding") { _ = backend.embedding(table: table, indices: ids) }
            time("embeddingBackward") {
                backend.embeddingBackward(gradient: g, indices: ids, into: backend.zeros(table.shape, dtype: .f32))
            }
            let norm = backend.rmsNorm(x, weight: weight, epsilon: 1e-5)
            time("rmsNorm") { _ = backend.rmsNorm(x, weight: weight, epsilon: 1e-5) }
            time("rmsNormBackward") { _ = backend.rmsNormBackward(gradient: g, input: x, weight: weight, inverseRMS: norm.inverseRMS) }
            let q = x.reshaped([rows / 128, 128, heads, width / heads])
            time("rope") { _ = backend.rope(q, theta: 10_000, firstPosition: 0, inverse: false) }
            let gate = single(check.random([rows, hidden], seed: 5, scale: 3))
            let up = single(check.random([rows, hidden], seed: 6))
            time("gated silu") { _ = backend.gated(.silu, gate: gate, up: up) }
            time("gatedBackward silu") { _ = backend.gatedBackward(.silu, gradient: up, gate: gate, up: up) }
            time("dropout") { _ = backend.dropout(gate, probability: 0.1, seed: 1) }
            let logits = single(check.random([rows, vocabulary], seed: 7, scale: 4))
            let targets = backend.tensor((0..<rows).map { Int32($0 * 7 % vocabulary) }, shape: [rows])
            let loss = backend.crossEntropy(logits: logits, targets: targets, ignoreIndex: -1)
            let one = backend.tensor([Float(1)], shape: [])
            time("crossEntropy") { _ = backend.crossEntropy(logits: logits, targets: targets, ignoreIndex: -1) }
            time("crossEntropyBackward") {
                _ = backend.crossEntropyBackward(
                    lossGradient: one, logits: logits, targets: targets, logSumExp: loss.logSumExp, ignoreIndex: -1, counted: loss.counted)
            }
            let probabilities = backend.softmax(logits)
            time("softmax") { _ = backend.softmax(logits) }
            time("softmaxBackward") { _ = backend.softmaxBackward(gradient: logits, output: probabilities) }
            print(
                "neural ops rows \(rows) width \(width) hidden \(hidden) vocabulary \(vocabulary) f32, "
                    + "\(threads == 1 ? "1 thread CPU" : "2 threads wall") (best of 20): " + lines.joined(separator: ", "))
        }
    }
}
