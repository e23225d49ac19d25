import Autograd
import Foundation
import TensorOps
import Tensors
import Testing

/// The fused causal attention against explicit loops in f64, its gradients against finite
/// differences, and f32 against f64.
@Suite struct AttentionTests {
    let check = GradientCheck()
    var backend: CPUTensorBackend { check.backend }

    /// Sizes of one test case: query [B, T, H, D], key and value [B, T, Hkv, D].
    struct Sizes {
        var batch: Int, time: Int, heads: Int, kvHeads: Int, width: Int
        var scale: Double { 1 / Double(width).squareRoot() }
    }

    /// Causal softmax attention written out: scores, mask, softmax, weighted sum (f64, row-major inputs).
    static func reference(_ s: Sizes, query: [Double], key: [Double], value: [Double]) -> (output: [Double], weights: [Double]) {
        let (b_, t_, h_, kv_, d_) = (s.batch, s.time, s.heads, s.kvHeads, s.width)
        var output = [Double](repeating: 0, count: b_ * t_ * h_ * d_)
        var weights = [Double](repeating: 0, count: b_ * h_ * t_ * t_)
        for b in 0..<b_ {
            for h in 0..<h_ {
                let kvHead = h / (h_ / kv_)
                for i in 0..<t_ {
                    var scores = [Double](repeating: -Double.infinity, count: t_)
                    for j in 0...i {
                        var dot = 0.0
                        for d in 0..<d_ {
                            dot += query[((b * t_ + i) * h_ + h) * d_ + d] * key[((b * t_ + j) * kv_ + kvHead) * d_ + d]
                        }
                        scores[j] = dot * s.scale
                    }
                    let largest = scores.max()!
                    let exps = scores.map { Foundation.exp($0 - largest) }
                    let total = exps.reduce(0, +)
                    for j in 0..<t_ { weights[((b * h_ + h) * t_ + i) * t_ + j] = exps[j] / total }
                    for d in 0..<d_ {
                        var sum = 0.0
                        for j in 0...i { sum += exps[j] / total * value[((b * t_ + j) * kv_ + kvHead) * d_ + d] }
                        output[((b * t_ + i) * h_ + h) * d_ + d] = sum
                    }
                }
            }
        }
        return (output, weights)
    }

    /// Query, key and value as slices of one fused [B, T, H + 2·Hkv, D] tensor (a fused QKV
    /// projection's layout): strided views, none of them contiguous.
    func fusedViews(_ s: Sizes, seed: UInt64) -> (query: Tensor, key: Tensor, value: Tensor) {
        let fused = check.random([s.batch, s.time, s.heads + 2 * s.kvHeads, s.width], seed: seed)
        return (
            fused.sliced(axis: 2, 0..<s.heads), fused.sliced(axis: 2, s.heads..<(s.heads + s.kvHeads)),
            fused.sliced(axis: 2, (s.heads + s.kvHeads)..<(s.heads + 2 * s.kvHeads))
        )
    }

    func expectForwardMatchesReference(
        _ s: Sizes, _ query: Tensor, _ key: Tensor, _ value: Tensor, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let (output, weights) = backend.causalAttention(query: query, key: key, value: value, scale: s.scale)
        #expect(output.shape == [s.batch, s.time, s.heads, s.width], sourceLocation: sourceLocation)
        #expect(weights.shape == [s.batch, s.heads, s.time, s.time], sourceLocation: sourceLocation)
        let expected = AttentionTests.reference(s, query: backend.doubles(query), key: backend.doubles(key), value: backend.doubles(value))
        let outputError = zip(backend.doubles(output), expected.output).map { abs($0 - $1) }.max()!
        let weightError = zip(backend.doubles(weights), expected.weights).map { abs($0 - $1) }.max()!
        #expect(outputError < 1e-12, "output differs from the loops by \(outputError)", sourceLocation: sourceLocation)
        #expect(weightError < 1e-12, "weights differ from the loops by \(weightError)", sourceLocation: sourceLocation)
        // Above the diagonal the weights are exactly 0.
        let w = backend.doubles(weights)
        let masked = (0..<w.count).filter { ($0 % s.time) > ($0 / s.time) % s.time }
        #expect(masked.allSatisfy { w[$0] == 0 }, sourceLocation: sourceLocation)
    }

    @Test func forwardMatchesLoopsMultiHead() {
        let s = Sizes(batch: 2, time: 7, heads: 3, kvHeads: 3, width: 5)
        let shape = [s.batch, s.time, s.heads, s.width]
        expectForwardMatchesReference(s, check.random(shape, seed: 1), check.random(shape, seed: 2), check.random(shape, seed: 3))
        let views = fusedViews(s, seed: 4)
        #expect(!views.query.isContiguous && !views.key.isContiguous)
        expectForwardMatchesReference(s, views.query, views.key, views.value)
    }

    @Test func forwardMatchesLoopsGroupedQuery() {
        let s = Sizes(batch: 2, time: 6, heads: 4, kvHeads: 2, width: 3)
        let views = fusedViews(s, seed: 5)
        expectForwardMatchesReference(s, views.query, views.key, views.value)
        // A query whose last axis is not dense (a transposed view) and a contiguous key/value.
        let transposed = check.random([s.batch, s.time, s.width, s.heads], seed: 6).transposed(2, 3)
        let kv = [s.batch, s.time, s.kvHeads, s.width]
        expectForwardMatchesReference(s, transposed, check.random(kv, seed: 7), check.random(kv, seed: 8))
    }

    /// Longer than one row block (64), large enough to split over the pool.
    @Test func forwardMatchesLoopsAcrossRowBlocks() {
        let s = Sizes(batch: 2, time: 70, heads: 4, kvHeads: 2, width: 8)
        let views = fusedViews(s, seed: 9)
        expectForwardMatchesReference(s, views.query, views.key, views.value)
    }

    func checkGradients(_ s: Sizes, seed: UInt64, sourceLocation: SourceLocation = #_sourceLocation) {
        // Query, key and value sliced from one fused tensor: the slices' backward adds them back.
        let fused = check.random([s.batch, s.time, s.heads + 2 * s.kvHeads, s.width], seed: seed)
        check.check([fused], sourceLocation: sourceLocation) { inputs in
            Variable.causalAttention(
                query: inputs[0].sliced(axis: 2, 0..<s.heads), key: inputs[0].sliced(axis: 2, s.heads..<(s.heads + s.kvHeads)),
                value: inputs[0].sliced(axis: 2, (s.heads + s.kvHeads)..<(s.heads + 2 * s.kvHeads)), scale: s.scale)
        }
        // Separate contiguous inputs, with larger scores (a peakier softmax).
        let q = check.random([s.batch, s.time, s.heads, s.width], seed: seed + 1, scale: 2)
        let k = check.random([s.batch, s.time, s.kvHeads, s.width], seed: seed + 2, scale: 2)
        let v = check.random([s.batch, s.time, s.kvHeads, s.width], seed: seed + 3)
        check.check([q, k, v], sourceLocation: sourceLocation) { inputs in
            Variable.causalAttention(query: inputs[0], key: inputs[1], value: inputs[2], scale: s.scale)
        }
    }

    @Test func gradientsMultiHead() {
        checkGradients(Sizes(batch: 2, time: 5, heads: 3, kvHeads: 3, width: 3), seed: 20)
    }

    @Test func gradientsGroupedQuery() {
        checkGradients(Sizes(batch: 2, time: 5, heads: 4, kvHeads: 2, width: 3), seed: 30)
        checkGradients(Sizes(batch: 1, time: 4, heads: 4, kvHeads: 1, width: 2), seed: 40)
    }

    @Test func gradientsAcrossRowBlocks() {
        checkGradients(Sizes(batch: 1, time: 67, heads: 2, kvHeads: 1, width: 2), seed: 50)
    }

    @Test func singleStepAttendsToItself() {
        // T = 1: the only weight is 1 and the output is the value.
        let s = Sizes(batch: 2, time: 1, heads: 2, kvHeads: 1, width: 4)
        let v = check.random([2, 1, 1, 4], seed: 60)
        let (output, weights) = backend.causalAttention(
            query: check.random([2, 1, 2, 4], seed: 61), key: check.random([2, 1, 1, 4], seed: 62), value: v, scale: s.scale)
        #expect(backend.doubles(weights) == [1, 1, 1, 1])
        let values = backend.doubles(v)
        let first = Array(values[0..<4]), second = Array(values[4..<8])
        #expect(backend.doubles(output) == first + first + second + second)
    }

    func toFloat(_ x: Tensor) -> Tensor {
        let result = backend.zeros(x.shape, dtype: .f32)
        backend.copy(x, into: result)
        return result
    }

    /// Largest difference relative to the largest f64 magnitude.
    func relativeError(_ single: Tensor, _ double: Tensor) -> Double {
        let (a, b) = (backend.doubles(single), backend.doubles(double))
        let largest = b.map(abs).max()!
        return zip(a, b).map { abs($0 - $1) }.max()! / largest
    }

    @Test func singlePrecisionAgreesWithDouble() {
        for s in [Sizes(batch: 2, time: 70, heads: 4, kvHeads: 2, width: 16), Sizes(batch: 3, time: 33, heads: 2, kvHeads: 2, width: 32)] {
            let views = fusedViews(s, seed: 70)
            let gradient = check.random([s.batch, s.time, s.heads, s.width], seed: 71)
            let (output, weights) = backend.causalAttention(query: views.query, key: views.key, value: views.value, scale: s.scale)
            let (outputF, weightsF) = backend.causalAttention(
                query: toFloat(views.query), key: toFloat(views.key), value: toFloat(views.value), scale: s.scale)
            #expect(outputF.dtype == .f32 && weightsF.dtype == .f32)
            #expect(relativeError(outputF, output) < 1e-5)
            #expect(relativeError(weightsF, weights) < 1e-5)
            let grads = backend.causalAttentionBackward(
                gradient: gradient, query: views.query, key: views.key, value: views.value, weights: weights, scale: s.scale)
            let gradsF = backend.causalAttentionBackward(
                gradient: toFloat(gradient), query: toFloat(views.query), key: toFloat(views.key), value: toFloat(views.value),
                weights: weightsF, scale: s.scale)
            #expect(relativeError(gradsF.query, grads.query) < 1e-5)
            #expect(relativeError(gradsF.key, grads.key) < 1e-5)
            #expect(relativeError(gradsF.value, grads.value) < 1e-5)
        }
    }
}

/// Forward and backward times at the training shapes (f32); prints, asserts nothing. One thread's CPU
/// time (steady on a shared machine) and two threads' wall time.
@Suite(.serialized) struct AttentionTimings {
    static func cpuMilliseconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) * 1e3 + Double(spec.tv_nsec) / 1e6
    }

    static func wallMilliseconds() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Double(spec.tv_sec) * 1e3 + Double(spec.tv_nsec) / 1e6
    }

    @Test(.tags(.slow), arguments: [(12, 64, 4, 32), (8, 256, 6, 64)])
    func trainingShapes(_ sizes: (Int, Int, Int, Int)) {
        let (batch, time, heads, width) = sizes
        let check = GradientCheck()
        for threads in [1, 2] {
            let backend = CPUTensorBackend(threads: threads)
            let clock = threads == 1 ? AttentionTimings.cpuMilliseconds : AttentionTimings.wallMilliseconds
            func single(_ x: Tensor) -> Tensor {
                let result = backend.zeros(x.shape, dtype: .f32)
                backend.copy(x, into: result)
                return result
            }
            // q, k, v as the model makes them: slices of one [B·T, 3·H·D] projection, viewed [B, T, 3H, D].
            let fused = single(check.random([batch, time, 3 * heads, width], seed: 1))
            let (q, k, v) = (
                fused.sliced(axis: 2, 0..<heads), fused.sliced(axis: 2, heads..<(2 * heads)),
                fused.sliced(axis: 2, (2 * heads)..<(3 * heads))
            )
            let gradient = single(check.random([batch, time, heads, width], seed: 2))
            let scale = 1 / Double(width).squareRoot()
            func best(_ body: () -> Void) -> Double {
                body()
                var fastest = Double.infinity
                for _ in 0..<20 {
                    let start = clock()
                    body()
                    fastest = min(fastest, clock() - start)
                }
                return fastest
            }
            var weights = backend.causalAttention(query: q, key: k, value: v, scale: scale).weights
            let forward = best { weights = backend.causalAttention(query: q, key: k, value: v, scale: scale).weights }
            let backward = best {
                _ = backend.causalAttentionBackward(gradient: gradient, query: q, key: k, value: v, weights: weights, scale: scale)
            }
            print(
                "attention B=\(batch) T=\(time) H=\(heads) D=\(width) f32, \(threads == 1 ? "1 thread CPU" : "2 threads wall"): "
                    + "forward \(forward) ms, backward \(backward) ms (best of 20)")
        }
    }
}
