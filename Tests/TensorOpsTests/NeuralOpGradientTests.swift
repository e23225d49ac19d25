import Autograd
import Foundation
import TensorOps
import Tensors
import Testing

/// The neural-network ops: backward rules against f64 finite differences, forward values against
/// references computed here from the defining formulas.
@Suite struct NeuralOpGradientTests {
    let check = GradientCheck()
    var backend: CPUTensorBackend { check.backend }

    // MARK: Embedding

    @Test func embeddingGathersRowsAndScatterAddsRepeatedIds() {
        let table = check.random([5, 3], seed: 1)
        let ids = backend.tensor([Int32(4), 0, 4, 2, 1, 4], shape: [2, 3])
        let rows = backend.doubles(table)
        let output = backend.doubles(Variable(table, backend: backend).embeddingLookup(ids).value)
        let expected = [4, 0, 4, 2, 1, 4].flatMap { rows[($0 * 3)..<($0 * 3 + 3)] }
        #expect(output == expected)
        check.check([table]) { $0[0].embeddingLookup(ids) }
        // Row 4 is picked three times: its gradient is the sum of three output gradients.
        let leaf = Variable(table, backend: backend, requiresGradient: true)
        leaf.embeddingLookup(ids).sum().backward()
        #expect(backend.doubles(leaf.gradient!) == [1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 3, 3, 3])
    }

    // MARK: Norms

    @Test func rmsNormByHand() {
        let x = backend.tensor([1, 2, 3, 4, -2, 0, 2, 0, 0.5, 0.5, 0.5, 0.5] as [Double], shape: [3, 4])
        let weight = backend.tensor([1, 2, 0.5, -1] as [Double], shape: [4])
        let epsilon = 1e-5
        let (output, inverse) = backend.rmsNorm(x, weight: weight, epsilon: epsilon)
        // mean(x²) per row: 30/4 = 7.5, 8/4 = 2, 1/4 = 0.25.
        let r = [7.5, 2, 0.25].map { 1 / ($0 + epsilon).squareRoot() }
        expectClose(backend.doubles(inverse), r)
        let expected = [
            1 * r[0], 4 * r[0], 1.5 * r[0], -4 * r[0], -2 * r[1], 0, 1 * r[1], 0, 0.5 * r[2], 1 * r[2], 0.25 * r[2], -0.5 * r[2],
        ]
        expectClose(backend.doubles(output), expected)
        #expect(inverse.shape == [3])
    }

    @Test func rmsNormGradients() {
        let x = check.random([3, 4], seed: 2)
        let weight = check.random([4], seed: 3)
        check.check([x, weight]) { $0[0].rmsNorm(weight: $0[1], epsilon: 1e-5) }
        // A transposed view as the input, rows over two leading axes.
        let xt = check.random([4, 3], seed: 4)
        check.check([xt, weight]) { $0[0].transposed(0, 1).rmsNorm(weight: $0[1], epsilon: 1e-5) }
        check.check([check.random([2, 3, 4], seed: 5), weight]) { $0[0].rmsNorm(weight: $0[1], epsilon: 1e-3) }
        // Rows wider than the vector accumulators (16 lanes) and with a tail.
        check.check([check.random([2, 21], seed: 6), check.random([21], seed: 7)]) { $0[0].rmsNorm(weight: $0[1], epsilon: 1e-5) }
    }

    @Test func layerNormValuesAndGradients() {
        let x = backend.tensor([1, 2, 3, 6, 10, 10, 10, 10.5] as [Double], shape: [2, 4])
        let weight = backend.tensor([1, -1, 2, 0.5] as [Double], shape: [4])
        let bias = backend.tensor([0.1, 0.2, 0.3, 0.4] as [Double], shape: [4])
        let epsilon = 1e-5
        let (output, mean, inverse) = backend.layerNorm(x, weight: weight, bias: bias, epsilon: epsilon)
        // Row 0: mean 3, variance (4 + 1 + 0 + 9)/4 = 3.5; row 1: mean 10.125, variance 0.046875.
        let r = [3.5, 0.046_875].map { 1 / ($0 + epsilon).squareRoot() }
        expectClose(backend.doubles(mean), [3, 10.125])
        expectClose(backend.doubles(inverse), r)
        let xs = backend.doubles(x), ws = backend.doubles(weight), bs = backend.doubles(bias)
        let means: [Double] = [3, 10.125]
        let expected = (0..<8).map { (i: Int) -> Double in (xs[i] - means[i / 4]) * r[i / 4] * ws[i % 4] + bs[i % 4] }
        expectClose(backend.doubles(output), expected)

        let input = check.random([3, 5], seed: 8)
        let w = check.random([5], seed: 9), b = check.random([5], seed: 10)
        check.check([input, w, b]) { $0[0].layerNorm(weight: $0[1], bias: $0[2], epsilon: 1e-5) }
        check.check([check.random([5, 3], seed: 11), w]) { $0[0].transposed(0, 1).layerNorm(weight: $0[1], bias: nil, epsilon: 1e-5) }
    }

    // MARK: RoPE

    /// The rotation written out from the definition: pair (2i, 2i+1) at position p turns by p·θ^(−2i/d).
    func ropeReference(_ x: [Double], shape: [Int], theta: Double, firstPosition: Int) -> [Double] {
        let (time, heads, width) = (shape[1], shape[2], shape[3])
        var out = x
        for index in stride(from: 0, to: x.count, by: 2) {
            let t = index / (heads * width) % time
            let i = index % width / 2
            let angle = Double(firstPosition + t) * pow(theta, -2 * Double(i) / Double(width))
            out[index] = x[index] * cos(angle) - x[index + 1] * sin(angle)
            out[index + 1] = x[index] * sin(angle) + x[index + 1] * cos(angle)
        }
        return out
    }

    @Test func ropeRotatesAdjacentPairs() {
        // One head of width 4 at position 1 with θ = 100: pair 0 turns by 1 rad, pair 1 by 1/10 rad.
        let x = backend.tensor([1, 0, 0, 2] as [Double], shape: [1, 1, 1, 4])
        let rotated = backend.doubles(backend.rope(x, theta: 100, firstPosition: 1, inverse: false))
        expectClose(rotated, [cos(1), sin(1), -2 * sin(0.1), 2 * cos(0.1)])

        let shape = [2, 3, 2, 6]
        let input = check.random(shape, seed: 12)
        let values = backend.doubles(input)
        expectClose(
            backend.doubles(backend.rope(input, theta: 10_000, firstPosition: 5, inverse: false)),
            ropeReference(values, shape: shape, theta: 10_000, firstPosition: 5))
        let roundTrip = backend.rope(
            backend.rope(input, theta: 10_000, firstPosition: 5, inverse: false), theta: 10_000, firstPosition: 5, inverse: true)
        expectClose(backend.doubles(roundTrip), values)
    }

    @Test func ropeGradients() {
        check.check([check.random([2, 3, 2, 4], seed: 13)]) { $0[0].rope(theta: 10_000) }
        check.check([check.random([1, 4, 3, 6], seed: 14)]) { $0[0].rope(theta: 50, firstPosition: 7) }
        // A strided input: time and heads swapped in memory.
        check.check([check.random([2, 2, 3, 4], seed: 15)]) { $0[0].transposed(1, 2).rope(theta: 10_000) }
    }

    // MARK: Activations

    func reference(_ kind: Activation, _ x: Double) -> Double {
        switch kind {
        case .relu: return max(x, 0)
        case .silu: return x / (1 + exp(-x))
        case .gelu: return 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
        case .geluTanh: return 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044_715 * x * x * x)))
        }
    }

    static let kinds: [Activation] = [.relu, .silu, .gelu, .geluTanh]

    @Test(arguments: kinds) func activationValuesAndGradients(kind: Activation) {
        let x = check.random([4, 5], seed: 16, scale: 3)
        let values = backend.doubles(x)
        expectClose(backend.doubles(backend.activation(kind, x)), values.map { reference(kind, $0) }, tolerance: 1e-14)
        check.check([x]) { $0[0].activation(kind) }
        check.check([check.random([5, 4], seed: 17, scale: 3)]) { $0[0].transposed(0, 1).activation(kind) }
    }

    @Test(arguments: kinds) func gatedValuesAndGradients(kind: Activation) {
        let gate = check.random([3, 4], seed: 18, scale: 3)
        let up = check.random([3, 4], seed: 19)
        let expected = zip(backend.doubles(gate), backend.doubles(up)).map { reference(kind, $0) * $1 }
        expectClose(backend.doubles(backend.gated(kind, gate: gate, up: up)), expected, tolerance: 1e-14)
        check.check([gate, up]) { Variable.gated(kind, gate: $0[0], up: $0[1]) }
        // Gate and up as two halves of one fused projection (sliced views).
        let fused = check.random([3, 8], seed: 20, scale: 3)
        check.check([fused]) { Variable.gated(kind, gate: $0[0].sliced(axis: 1, 0..<4), up: $0[0].sliced(axis: 1, 4..<8)) }
    }

    // MARK: Dropout

    @Test func dropoutMaskIsSeededAndScaled() {
        let count = 100_000
        let x = backend.tensor([Double](repeating: 2, count: count), shape: [100, 1000])
        let p = 0.3
        let (output, mask) = backend.dropout(x, probability: p, seed: 42)
        let (again, maskAgain) = backend.dropout(x, probability: p, seed: 42)
        let masks = backend.doubles(mask)
        #expect(masks == backend.doubles(maskAgain))
        #expect(backend.doubles(output) == backend.doubles(again))
        #expect(masks != backend.doubles(backend.dropout(x, probability: p, seed: 43).mask))
        let keptFraction = Double(masks.filter { $0 != 0 }.count) / Double(count)
        #expect(abs(keptFraction - (1 - p)) < 0.01, "kept \(keptFraction)")
        #expect(masks.allSatisfy { $0 == 0 || $0 == 1 / (1 - p) })
        #expect(zip(backend.doubles(output), masks).allSatisfy { $0 == 2 * $1 })
        // The mask is a function of (seed, index) alone: the same elements drop in a strided view of x.
        let view = backend.dropout(x.transposed(0, 1), probability: p, seed: 42).mask
        #expect(backend.doubles(backend.contiguous(view)) == masks)
    }

    @Test func dropoutGradientsAndIdentity() {
        let x = check.random([4, 6], seed: 21)
        check.check([x]) { $0[0].dropout(probability: 0.5, seed: 7) }
        let leaf = Variable(x, backend: backend, requiresGradient: true)
        #expect(leaf.dropout(probability: 0, seed: 7) === leaf)
    }

    // MARK: Softmax and cross-entropy

    @Test func softmaxValuesAndGradients() {
        let x = check.random([3, 7], seed: 22, scale: 4)
        let values = backend.doubles(x)
        let output = backend.doubles(backend.softmax(x))
        for row in 0..<3 {
            let slice = values[(row * 7)..<(row * 7 + 7)]
            let total = slice.map { exp($0) }.reduce(0, +)
            expectClose(Array(output[(row * 7)..<(row * 7 + 7)]), slice.map { exp($0) / total })
            #expect(abs(output[(row * 7)..<(row * 7 + 7)].reduce(0, +) - 1) < 1e-14)
        }
        // Large logits do not overflow (shifted by the row maximum).
        let large = backend.doubles(backend.softmax(backend.tensor([1000, 1000, 999] as [Double], shape: [1, 3])))
        let e = exp(-1.0)
        expectClose(large, [1 / (2 + e), 1 / (2 + e), e / (2 + e)])
        check.check([x]) { $0[0].softmax() }
        check.check([check.random([7, 3], seed: 23)]) { $0[0].transposed(0, 1).softmax() }
        check.check([check.random([2, 3, 20], seed: 24)]) { $0[0].softmax() }
        // A broadcast input (every row the same vector) gives the same rows as the dense copy.
        let vector = check.random([1, 5], seed: 25)
        let broadcastRows = backend.softmax(vector.broadcast(to: [4, 5]))
        let denseRows = backend.softmax(backend.contiguous(vector.broadcast(to: [4, 5])))
        #expect(backend.doubles(broadcastRows) == backend.doubles(denseRows))
    }

    @Test func crossEntropyValuesAndGradients() {
        let logits = check.random([4, 6], seed: 26, scale: 3)
        let targets = backend.tensor([Int32(2), -1, 5, 0], shape: [4])
        let values = backend.doubles(logits)
        let (loss, logSumExp, counted) = backend.crossEntropy(logits: logits, targets: targets, ignoreIndex: -1)
        #expect(counted == 3)
        #expect(loss.shape == [])
        var expected = 0.0
        for (row, target) in [(0, 2), (2, 5), (3, 0)] {
            let slice = values[(row * 6)..<(row * 6 + 6)]
            expected += -log(exp(slice[row * 6 + target]) / slice.map { exp($0) }.reduce(0, +))
        }
        expectClose(backend.doubles(loss), [expected / 3])
        let rowTotals = (0..<4).map { row in log(values[(row * 6)..<(row * 6 + 6)].map { exp($0) }.reduce(0, +)) }
        expectClose(backend.doubles(logSumExp), rowTotals)

        check.check([logits]) { $0[0].crossEntropy(targets: targets) }
        let otherTargets = backend.tensor([Int32(2), 5, 3, 0], shape: [4])
        check.check([check.random([6, 4], seed: 27, scale: 3)]) {
            $0[0].transposed(0, 1).crossEntropy(targets: otherTargets, ignoreIndex: 5)
        }
        // The ignored row gets no gradient at all.
        let leaf = Variable(logits, backend: backend, requiresGradient: true)
        leaf.crossEntropy(targets: targets).backward()
        #expect(backend.doubles(leaf.gradient!)[6..<12].allSatisfy { $0 == 0 })
    }

    @Test func crossEntropyWithEveryTargetIgnoredIsZero() {
        let logits = check.random([2, 3], seed: 28)
        let leaf = Variable(logits, backend: backend, requiresGradient: true)
        let loss = leaf.crossEntropy(targets: backend.tensor([Int32(-1), -1], shape: [2]))
        #expect(backend.doubles(loss.value) == [0])
        loss.backward()
        #expect(backend.doubles(leaf.gradient!) == [0, 0, 0, 0, 0, 0])
    }

    // MARK: f32 against f64

    /// The f32 kernels compute what the f64 ones do, to f32 precision (relative 1e-5 with an
    /// absolute floor of 1e-6 for values near zero).
    @Test func f32KernelsAgreeWithF64() {
        let rows = 37, width = 70
        let x64 = check.random([rows, width], seed: 30, scale: 3)
        let y64 = check.random([rows, width], seed: 31)
        let w64 = check.random([width], seed: 32)
        let b64 = check.random([width], seed: 33)
        func f32(_ t: Tensor) -> Tensor {
            let result = backend.zeros(t.shape, dtype: .f32)
            backend.copy(t, into: result)
            return result
        }
        let (x32, y32, w32, b32) = (f32(x64), f32(y64), f32(w64), f32(b64))
        func agree(_ name: String, _ a: Tensor, _ b: Tensor, sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(a.dtype == .f32 && b.dtype == .f64, sourceLocation: sourceLocation)
            let worst = zip(backend.doubles(a), backend.doubles(b)).map { abs($0 - $1) / max(abs($1), 0.1) }.max() ?? 0
            #expect(worst < 1e-5, "\(name): worst relative difference \(worst)", sourceLocation: sourceLocation)
        }
        let ids = backend.tensor((0..<rows).map { Int32($0 * 7 % rows) }, shape: [rows])
        agree("embedding", backend.embedding(table: x32, indices: ids), backend.embedding(table: x64, indices: ids))
        let (t32, t64) = (backend.zeros([rows, width], dtype: .f32), backend.zeros([rows, width], dtype: .f64))
        backend.embeddingBackward(gradient: backend.embedding(table: y32, indices: ids), indices: ids, into: t32)
        backend.embeddingBackward(gradient: backend.embedding(table: y64, indices: ids), indices: ids, into: t64)
        agree("embeddingBackward", t32, t64)

        let (r32, r64) = (backend.rmsNorm(x32, weight: w32, epsilon: 1e-5), backend.rmsNorm(x64, weight: w64, epsilon: 1e-5))
        agree("rmsNorm", r32.output, r64.output)
        let rb32 = backend.rmsNormBackward(gradient: y32, input: x32, weight: w32, inverseRMS: r32.inverseRMS)
        let rb64 = backend.rmsNormBackward(gradient: y64, input: x64, weight: w64, inverseRMS: r64.inverseRMS)
        agree("rmsNormBackward input", rb32.input, rb64.input)
        agree("rmsNormBackward weight", rb32.weight, rb64.weight)

        let l32 = backend.layerNorm(x32, weight: w32, bias: b32, epsilon: 1e-5)
        let l64 = backend.layerNorm(x64, weight: w64, bias: b64, epsilon: 1e-5)
        agree("layerNorm", l32.output, l64.output)
        let lb32 = backend.layerNormBackward(gradient: y32, input: x32, weight: w32, mean: l32.mean, inverseStd: l32.inverseStd)
        let lb64 = backend.layerNormBackward(gradient: y64, input: x64, weight: w64, mean: l64.mean, inverseStd: l64.inverseStd)
        agree("layerNormBackward input", lb32.input, lb64.input)
        agree("layerNormBackward weight", lb32.weight, lb64.weight)
        agree("layerNormBackward bias", lb32.bias, lb64.bias)

        let (q32, q64) = (x32.reshaped([1, rows, 5, 14]), x64.reshaped([1, rows, 5, 14]))
        agree(
            "rope", backend.rope(q32, theta: 10_000, firstPosition: 3, inverse: false),
            backend.rope(q64, theta: 10_000, firstPosition: 3, inverse: false))

        for kind in NeuralOpGradientTests.kinds {
            agree("\(kind)", backend.activation(kind, x32), backend.activation(kind, x64))
            agree(
                "\(kind) backward", backend.activationBackward(kind, gradient: y32, input: x32),
                backend.activationBackward(kind, gradient: y64, input: x64))
            agree("gated \(kind)", backend.gated(kind, gate: x32, up: y32), backend.gated(kind, gate: x64, up: y64))
            let g32 = backend.gatedBackward(kind, gradient: y32, gate: x32, up: w32.reshaped([1, width]).broadcast(to: [rows, width]))
            let g64 = backend.gatedBackward(kind, gradient: y64, gate: x64, up: w64.reshaped([1, width]).broadcast(to: [rows, width]))
            agree("gated \(kind) backward gate", g32.gate, g64.gate)
            agree("gated \(kind) backward up", g32.up, g64.up)
        }

        // SiLU's f32 path takes e^(−|x|): no overflow far from zero on either side.
        let extremes: [Double] = [-200, -90, -30, -1, -1e-3, 0, 1e-3, 1, 30, 90, 200]
        let (e64, e32) = (backend.tensor(extremes, shape: [11]), f32(backend.tensor(extremes, shape: [11])))
        agree("silu extremes", backend.activation(.silu, e32), backend.activation(.silu, e64))
        agree(
            "silu backward extremes", backend.activationBackward(.silu, gradient: e32, input: e32),
            backend.activationBackward(.silu, gradient: e64, input: e64))

        let (d32, d64) = (backend.dropout(x32, probability: 0.25, seed: 9), backend.dropout(x64, probability: 0.25, seed: 9))
        agree("dropout", d32.output, d64.output)

        let (s32, s64) = (backend.softmax(x32), backend.softmax(x64))
        agree("softmax", s32, s64)
        agree("softmaxBackward", backend.softmaxBackward(gradient: y32, output: s32), backend.softmaxBackward(gradient: y64, output: s64))

        let targets = backend.tensor((0..<rows).map { $0 % 5 == 0 ? -1 : Int32($0 * 3 % width) }, shape: [rows])
        let (c32, c64) = (
            backend.crossEntropy(logits: x32, targets: targets, ignoreIndex: -1),
            backend.crossEntropy(logits: x64, targets: targets, ignoreIndex: -1)
        )
        agree("crossEntropy", c32.loss, c64.loss)
        let one32 = backend.tensor([Float(1.5)], shape: [])
        let one64 = backend.tensor([1.5] as [Double], shape: [])
        agree(
            "crossEntropyBackward",
            backend.crossEntropyBackward(
                lossGradient: one32, logits: x32, targets: targets, logSumExp: c32.logSumExp, ignoreIndex: -1, counted: c32.counted),
            backend.crossEntropyBackward(
                lossGradient: one64, logits: x64, targets: targets, logSumExp: c64.logSumExp, ignoreIndex: -1, counted: c64.counted))
    }
}
