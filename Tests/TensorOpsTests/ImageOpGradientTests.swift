import Autograd
import Foundation
import TensorOps
import Tensors
import Testing

/// Convolution, pooling and batch normalisation: forward values against the defining sums written
/// out directly here, backward rules against f64 finite differences.
@Suite struct ImageOpGradientTests {
    let check = GradientCheck()
    var backend: CPUTensorBackend { check.backend }

    /// out[n, o, y, x] = b[o] + Σ_{c in o's group, i, j} w[o, c', i, j] · in[n, c, y·s − p + i·d, x·s − p + j·d].
    func directConvolution(_ input: Tensor, _ weight: Tensor, _ bias: Tensor?, _ window: Window2D, groups: Int) -> [Double] {
        let (x, w) = (backend.doubles(input), backend.doubles(weight))
        let b = bias.map { backend.doubles($0) }
        let (n, c, h, wd) = (input.shape[0], input.shape[1], input.shape[2], input.shape[3])
        let (o, cg, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
        let (oh, ow) = window.outputSize(height: h, width: wd)!
        var out = [Double](repeating: 0, count: n * o * oh * ow)
        for image in 0..<n {
            for output in 0..<o {
                let group = output / (o / groups)
                for y in 0..<oh {
                    for xx in 0..<ow {
                        var total = b?[output] ?? 0
                        for ci in 0..<cg {
                            let channel = group * cg + ci
                            for i in 0..<kh {
                                for j in 0..<kw {
                                    let iy = y * window.stride.height - window.padding.height + i * window.dilation.height
                                    let ix = xx * window.stride.width - window.padding.width + j * window.dilation.width
                                    guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                                    total += w[((output * cg + ci) * kh + i) * kw + j] * x[((image * c + channel) * h + iy) * wd + ix]
                                }
                            }
                        }
                        out[((image * o + output) * oh + y) * ow + xx] = total
                    }
                }
            }
        }
        return out
    }

    static let geometries: [(input: [Int], outputs: Int, window: Window2D, groups: Int)] = [
        ([3, 2, 6, 5], 4, Window2D(kernel: 3, padding: 1), 1),
        ([2, 4, 9, 9], 6, Window2D(kernel: 3, stride: 2, padding: 1, dilation: 2), 2),
        ([3, 3, 7, 6], 5, Window2D(kernel: (3, 2), stride: (1, 2), padding: (0, 1), dilation: (1, 1)), 1),
        ([2, 4, 5, 5], 3, Window2D(kernel: 1), 1),
        ([2, 4, 5, 5], 4, Window2D(kernel: 2, stride: 2), 4),
        ([1, 1, 4, 4], 2, Window2D(kernel: 5, padding: 2), 1),
        // Direct-kernel shapes: outputs and channels not multiples of its block of four, lines
        // longer than its 16-position tile, an asymmetric kernel and padding.
        ([2, 3, 7, 19], 6, Window2D(kernel: (3, 2), stride: (1, 1), padding: (1, 0), dilation: (1, 1)), 1),
        ([1, 5, 9, 8], 9, Window2D(kernel: 5, padding: 1), 1),
    ]

    @Test(arguments: geometries.indices) func convolutionMatchesTheDefiningSum(_ index: Int) {
        let g = Self.geometries[index]
        let input = check.random(g.input, seed: 1)
        let weight = check.random([g.outputs, g.input[1] / g.groups, g.window.kernel.height, g.window.kernel.width], seed: 2)
        let bias = check.random([g.outputs], seed: 3)
        let output = backend.conv2d(input, weight: weight, bias: bias, window: g.window, groups: g.groups)
        let (oh, ow) = g.window.outputSize(height: g.input[2], width: g.input[3])!
        #expect(output.shape == [g.input[0], g.outputs, oh, ow])
        expectClose(backend.doubles(output), directConvolution(input, weight, bias, g.window, groups: g.groups))
        let noBias = backend.conv2d(input, weight: weight, bias: nil, window: g.window, groups: g.groups)
        expectClose(backend.doubles(noBias), directConvolution(input, weight, nil, g.window, groups: g.groups))
    }

    @Test(arguments: geometries.indices) func convolutionGradients(_ index: Int) {
        let g = Self.geometries[index]
        let input = check.random(g.input, seed: 4)
        let weight = check.random([g.outputs, g.input[1] / g.groups, g.window.kernel.height, g.window.kernel.width], seed: 5)
        let bias = check.random([g.outputs], seed: 6)
        check.check([input, weight, bias]) { $0[0].conv2d(weight: $0[1], bias: $0[2], window: g.window, groups: g.groups) }
    }

    @Test func convolutionSkipsTheInputGradientOfConstantImages() {
        let images = Variable(check.random([2, 1, 5, 5], seed: 7), backend: backend)
        let weight = Variable(check.random([2, 1, 3, 3], seed: 8), backend: backend, requiresGradient: true)
        images.conv2d(weight: weight, bias: nil, window: Window2D(kernel: 3)).sum().backward()
        #expect(weight.gradient != nil)
        #expect(images.gradient == nil)
    }

    @Test func convolutionOnOneThreadEqualsTwo() {
        let single = CPUTensorBackend(threads: 1)
        let input = check.random([5, 3, 8, 8], seed: 9), weight = check.random([4, 3, 3, 3], seed: 10)
        let window = Window2D(kernel: 3, padding: 1)
        let gradient = check.random([5, 4, 8, 8], seed: 11)
        let two = backend.conv2dBackward(gradient: gradient, input: input, weight: weight, window: window, groups: 1, inputGradient: true)
        let one = single.conv2dBackward(gradient: gradient, input: input, weight: weight, window: window, groups: 1, inputGradient: true)
        expectClose(backend.doubles(two.weight), single.doubles(one.weight))
        expectClose(backend.doubles(two.input!), single.doubles(one.input!))
        expectClose(backend.doubles(two.bias), single.doubles(one.bias))
    }

    // MARK: Pooling

    @Test func maxPoolingByHandAndGradients() {
        // One 4×4 plane, 2×2 windows, stride 2: the maximum of each quadrant.
        let x = backend.tensor([1, 5, 2, 0, 3, 4, 8, 1, -1, -2, 0, 6, -3, -4, 7, 2] as [Double], shape: [1, 1, 4, 4])
        let (output, argmax) = backend.pool2d(.max, x, window: Window2D(kernel: 2, stride: 2))
        #expect(backend.doubles(output) == [5, 8, -1, 7])
        #expect(argmax.map { backend.doubles($0) } == [1, 6, 8, 14])
        // Distinct values (no ties), so small perturbations never move a maximum.
        for (shape, window) in [
            ([2, 3, 7, 7], Window2D(kernel: 3, stride: 2, padding: 1)), ([1, 2, 6, 6], Window2D(kernel: 2, stride: 2)),
            ([1, 2, 7, 8], Window2D(kernel: (2, 3), stride: (1, 2), padding: (1, 1), dilation: (2, 1))),
        ] {
            let count = shape.reduce(1, *)
            let values = (0..<count).map { Double(($0 * 7919) % count) / Double(count) }
            check.check([backend.tensor(values, shape: shape)]) { $0[0].pool2d(.max, window: window) }
        }
    }

    @Test func averagePoolingCountsPaddingAndGradients() {
        let x = backend.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9] as [Double], shape: [1, 1, 3, 3])
        // 2×2 windows over the zero-padded 5×5 with stride 2, always divided by 4: {1}, {2, 3},
        // {4, 7}, {5, 6, 8, 9}.
        let (output, argmax) = backend.pool2d(.average, x, window: Window2D(kernel: 2, stride: 2, padding: 1))
        #expect(argmax == nil)
        expectClose(backend.doubles(output), [1.0 / 4, 5.0 / 4, 11.0 / 4, 28.0 / 4])
        for (shape, window) in [
            ([2, 3, 7, 7], Window2D(kernel: 3, stride: 2, padding: 1)), ([1, 2, 6, 6], Window2D(kernel: 2, stride: 2)),
            ([2, 2, 5, 4], Window2D(kernel: (5, 4), stride: (1, 1), padding: (0, 0), dilation: (1, 1))),
        ] {
            check.check([check.random(shape, seed: 12)]) { $0[0].pool2d(.average, window: window) }
        }
        check.check([check.random([2, 3, 4, 5], seed: 13)]) { $0[0].globalAveragePool() }
    }

    // MARK: Batch normalisation

    @Test func batchNormStatisticsByHand() {
        // Channel 0 holds 1, 2 (image 0) and 3, 6 (image 1): mean 3, biased variance 3.5.
        // Channel 1 holds 0, 0, 4, 4: mean 2, variance 4.
        let x = backend.tensor([1, 2, 0, 0, 3, 6, 4, 4] as [Double], shape: [2, 2, 2])
        let epsilon = 1e-5
        let (output, mean, inverse) = backend.batchNorm(x, weight: nil, bias: nil, epsilon: epsilon)
        let r = [3.5, 4].map { 1 / ($0 + epsilon).squareRoot() }
        expectClose(backend.doubles(mean), [3, 2])
        expectClose(backend.doubles(inverse), r)
        expectClose(backend.doubles(output), [-2 * r[0], -1 * r[0], -2 * r[1], -2 * r[1], 0, 3 * r[0], 2 * r[1], 2 * r[1]])
    }

    @Test func batchNormGradients() {
        let x = check.random([4, 3, 3, 2], seed: 14)
        let weight = check.random([3], seed: 15), bias = check.random([3], seed: 16)
        check.check([x, weight, bias]) { $0[0].batchNorm(weight: $0[1], bias: $0[2], epsilon: 1e-5).output }
        // Features of a [batch, features] input (after a linear layer), and no affine part.
        check.check([check.random([6, 4], seed: 17)]) { $0[0].batchNorm(weight: nil, bias: nil, epsilon: 1e-3).output }
    }

    @Test func channelAffineValuesAndGradient() {
        let x = check.random([2, 3, 2, 2], seed: 18)
        let scale = backend.tensor([2, -1, 0.5] as [Double], shape: [3]), shift = backend.tensor([1, 0, -3] as [Double], shape: [3])
        let xs = backend.doubles(x)
        let expected = xs.indices.map { xs[$0] * [2, -1, 0.5][($0 / 4) % 3] + [1, 0, -3][($0 / 4) % 3] }
        expectClose(backend.doubles(backend.channelAffine(x, scale: scale, shift: shift)), expected)
        check.check([x]) { $0[0].channelAffine(scale: scale, shift: shift) }
    }

    // MARK: Label smoothing

    @Test func labelSmoothingByHandAndGradients() {
        let logits = backend.tensor([2, 0, -1, 0.5, 0.5, 0.5] as [Double], shape: [2, 3])
        let targets = backend.tensor([Int32(0), 2], shape: [2])
        let epsilon = 0.1
        let (loss, _, counted) = backend.crossEntropy(logits: logits, targets: targets, ignoreIndex: -1, labelSmoothing: epsilon)
        #expect(counted == 2)
        // Row 0: lse = log(e² + 1 + e⁻¹); row 1: lse = 0.5 + log 3, every logit 0.5.
        let lse0 = Foundation.log(Foundation.exp(2.0) + 1 + Foundation.exp(-1.0))
        let row0 = (1 - epsilon) * (lse0 - 2) + epsilon * (lse0 - 1.0 / 3)
        let row1 = Foundation.log(3.0)
        expectClose(backend.doubles(loss), [(row0 + row1) / 2])
        let x = check.random([4, 5], seed: 19)
        let t = backend.tensor([Int32(1), 4, -1, 0], shape: [4])
        check.check([x]) { $0[0].crossEntropy(targets: t, labelSmoothing: 0.2) }
    }
}
