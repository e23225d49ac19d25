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
