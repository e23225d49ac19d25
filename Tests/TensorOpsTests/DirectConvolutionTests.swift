import Autograd
import Tensors
import Testing

@testable import TensorOps

/// The direct stride-1 kernels against im2col + GEMM on the f32 shapes they serve in training
/// (ResNet's 3×3 stages, LeNet's 5×5 layers): forward, weight, bias and input gradients. Both are
/// checked against the defining sum and finite differences in ImageOpGradientTests; this checks
/// they agree at training sizes, where the tiles wrap many lines and images split over workers.
@Suite struct DirectConvolutionTests {
    let backend = CPUTensorBackend(threads: 2)

    func random(_ shape: [Int], seed: UInt64) -> Tensor {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        let values = (0..<shape.reduce(1, *)).map { _ -> Float in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Float(Double(state >> 11) / Double(1 << 53) * 2 - 1)
        }
        return backend.tensor(values, shape: shape)
    }

    static let shapes: [(input: [Int], outputs: Int, window: Window2D)] = [
        ([5, 16, 32, 32], 16, Window2D(kernel: 3, padding: 1)),
        ([3, 64, 8, 8], 64, Window2D(kernel: 3, padding: 1)),
        ([4, 1, 28, 28], 6, Window2D(kernel: 5, padding: 2)),
        ([4, 6, 14, 14], 16, Window2D(kernel: 5)),
    ]

    @Test(arguments: shapes.indices) func directEqualsUnfolded(_ index: Int) {
        let s = Self.shapes[index]
        let input = random(s.input, seed: 1)
        let weight = random([s.outputs, s.input[1], s.window.kernel.height, s.window.kernel.width], seed: 2)
        let bias = random([s.outputs], seed: 3)
        let direct = backend.conv2d(input, weight: weight, bias: bias, window: s.window, groups: 1, algorithm: .direct)
        let unfolded = backend.conv2d(input, weight: weight, bias: bias, window: s.window, groups: 1, algorithm: .unfolded)
        expectClose(backend.doubles(direct), backend.doubles(unfolded), tolerance: 1e-4)

        let gradient = random(direct.shape, seed: 4)
        let a = backend.conv2dBackward(
            gradient: gradient, input: input, weight: weight, window: s.window, groups: 1, inputGradient: true, algorithm: .direct)
        let b = backend.conv2dBackward(
            gradient: gradient, input: input, weight: weight, window: s.window, groups: 1, inputGradient: true, algorithm: .unfolded)
        expectClose(backend.doubles(a.input!), backend.doubles(b.input!), tolerance: 1e-4)
        expectClose(backend.doubles(a.weight), backend.doubles(b.weight), tolerance: 1e-4)
        expectClose(backend.doubles(a.bias), backend.doubles(b.bias), tolerance: 1e-4)
    }
}

/// The AVX-512 im2col and col2im (stride 1 or 2, output lines up to 16) against the generic loops
/// in f64: the f32 forward, input and weight gradients of convolutions that go through them, on
/// ResNet's stride-2 shapes, odd sizes (a last column that only some taps reach, padding on one
/// side only) and a 1×1 stride-2 projection.
@Suite struct UnfoldTests {
    let backend = CPUTensorBackend(threads: 2)

    static let shapes: [(input: [Int], outputs: Int, window: Window2D)] = [
        ([3, 16, 32, 32], 32, Window2D(kernel: (3, 3), stride: (2, 2), padding: (1, 1), dilation: (1, 1))),
        ([2, 32, 16, 16], 64, Window2D(kernel: (3, 3), stride: (2, 2), padding: (1, 1), dilation: (1, 1))),
        ([2, 5, 15, 13], 7, Window2D(kernel: (3, 3), stride: (2, 2), padding: (1, 1), dilation: (1, 1))),
        ([2, 4, 14, 14], 3, Window2D(kernel: (5, 5), stride: (2, 2), padding: (0, 0), dilation: (1, 1))),
        ([3, 16, 32, 32], 32, Window2D(kernel: (1, 1), stride: (2, 2), padding: (0, 0), dilation: (1, 1))),
        ([2, 3, 9, 11], 4, Window2D(kernel: (3, 3), stride: (1, 1), padding: (0, 0), dilation: (1, 1))),
    ]

    @Test(arguments: shapes.indices) func avx512UnfoldMatchesDouble(_ index: Int) {
        let s = Self.shapes[index]
        let shape = ConvolutionShape(
            input: s.input, weight: [s.outputs, s.input[1], s.window.kernel.height, s.window.kernel.width], window: s.window,
            groups: 1)
        #expect(shape.suitsAVX512Unfold == FlatCorrelation.usesAVX512)
        let x = BFloat16ProductTests.random(s.input.reduce(1, *), seed: UInt64(index + 1))
        let w = BFloat16ProductTests.random(s.outputs * shape.patch, seed: UInt64(index + 2))
        let weightShape = [s.outputs, s.input[1], s.window.kernel.height, s.window.kernel.width]
        let dy = BFloat16ProductTests.random(shape.outputShape.reduce(1, *), seed: UInt64(index + 3))
        func run(_ dtype: DType) -> [[Double]] {
            func tensor(_ values: [Float], _ shape: [Int]) -> Tensor {
                dtype == .f32 ? backend.tensor(values, shape: shape) : backend.tensor(values.map(Double.init), shape: shape)
            }
            let (xt, wt) = (tensor(x, s.input), tensor(w, weightShape))
            let y = backend.conv2d(xt, weight: wt, bias: nil, window: s.window, groups: 1, algorithm: .unfolded)
            let g = backend.conv2dBackward(
                gradient: tensor(dy, shape.outputShape), input: xt, weight: wt, window: s.window, groups: 1, inputGradient: true,
                algorithm: .unfolded)
            return [backend.doubles(y), backend.doubles(g.input!), backend.doubles(g.weight)]
        }
        let (single, double) = (run(.f32), run(.f64))
        for (got, want) in zip(single, double) { expectClose(got, want, tolerance: 1e-4) }
    }
}
