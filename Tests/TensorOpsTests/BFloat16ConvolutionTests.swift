import Autograd
import Tensors
import Testing

@testable import TensorOps

/// The direct convolutions under `ProductPrecision.bfloat16` against the defining sums in f64 over
/// operands rounded to bf16 as the hardware rounds them: only the f32 accumulation may differ, so
/// the tolerance is f32's relative to Σ|a·b|, and each result is also shown to be further than that
/// from the unrounded sums (the rounding is really on). Shapes cover an odd channel count (the last
/// pair half empty), one channel, rows past a block of eight, a plane whose flat positions end in a
/// step of 16, lines of odd length (rounded rows end in an extra 0), and images split over two workers.
@Suite(.enabled(if: ProductPrecision.bfloat16Available, "this CPU lacks AVX512-BF16"))
struct BFloat16ConvolutionTests {
    let backend = CPUTensorBackend(threads: 2, convolutionPrecision: .bfloat16)

    static let shapes: [(input: [Int], outputs: Int, kernel: Int, padding: Int)] = [
        ([3, 3, 32, 32], 16, 3, 1),
        ([3, 16, 8, 8], 20, 3, 1),
        ([2, 1, 28, 28], 6, 5, 2),
        ([4, 7, 14, 14], 9, 5, 0),
        ([2, 3, 9, 11], 5, 3, 1),
    ]

    /// The sums a convolution defines, over operands passed through `round`, with Σ|products|.
    struct Sums {
        var output: [Double], outputMagnitude: [Double]
        var input: [Double], inputMagnitude: [Double]
        var weight: [Double], weightMagnitude: [Double]
    }

    static func sums(
        x: [Float], w: [Float], dy: [Float], shape s: (input: [Int], outputs: Int, kernel: Int, padding: Int), round: (Float) -> Float
    ) -> Sums {
        let (n, c, h, wd) = (s.input[0], s.input[1], s.input[2], s.input[3])
        let (o, k, p) = (s.outputs, s.kernel, s.padding)
        let (oh, ow) = (h + 2 * p - k + 1, wd + 2 * p - k + 1)
        let (rx, rw, rdy) = (x.map { Double(round($0)) }, w.map { Double(round($0)) }, dy.map { Double(round($0)) })
        var sums = Sums(
            output: .init(repeating: 0, count: n * o * oh * ow), outputMagnitude: .init(repeating: 0, count: n * o * oh * ow),
            input: .init(repeating: 0, count: x.count), inputMagnitude: .init(repeating: 0, count: x.count),
            weight: .init(repeating: 0, count: w.count), weightMagnitude: .init(repeating: 0, count: w.count))
        for image in 0..<n {
            for out in 0..<o {
                for y in 0..<oh {
                    for z in 0..<ow {
                        let yi = ((image * o + out) * oh + y) * ow + z
                        for ch in 0..<c {
                            for i in 0..<k {
                                for j in 0..<k {
                                    let (sy, sz) = (y + i - p, z + j - p)
                                    guard sy >= 0 && sy < h && sz >= 0 && sz < wd else { continue }
                                    let xi = ((image * c + ch) * h + sy) * wd + sz
                                    let wi = ((out * c + ch) * k + i) * k + j
                                    let forward = rx[xi] * rw[wi]
                                    sums.output[yi] += forward
                                    sums.outputMagnitude[yi] += abs(forward)
                                    let input = rdy[yi] * rw[wi]
                                    sums.input[xi] += input
                                    sums.inputMagnitude[xi] += abs(input)
                                    let weight = rdy[yi] * rx[xi]
                                    sums.weight[wi] += weight
                                    sums.weightMagnitude[wi] += abs(weight)
                                }
                            }
                        }
                    }
                }
            }
        }
        return sums
    }

    /// Largest |got − want| / Σ|products|.
    static func error(_ got: [Double], _ want: [Double], _ magnitude: [Double]) -> Double {
        got.indices.map { abs(got[$0] - want[$0]) / max(magnitude[$0], 1e-30) }.max() ?? 0
    }

    @Test(arguments: shapes.indices) func convolutionsEqualRoundedSums(_ index: Int) {
        let s = Self.shapes[index]
        let x = BFloat16ProductTests.random(s.input.reduce(1, *), seed: UInt64(index + 1))
        let weightShape = [s.outputs, s.input[1], s.kernel, s.kernel]
        let w = BFloat16ProductTests.random(weightShape.reduce(1, *), seed: UInt64(index + 11))
        let window = Window2D(kernel: s.kernel, padding: s.padding)
        let (xt, wt) = (backend.tensor(x, shape: s.input), backend.tensor(w, shape: weightShape))
        let output = backend.conv2d(xt, weight: wt, bias: nil, window: window, groups: 1, algorithm: .direct)
        let dy = BFloat16ProductTests.random(output.shape.reduce(1, *), seed: UInt64(index + 21))
        let gradients = backend.conv2dBackward(
            gradient: backend.tensor(dy, shape: output.shape), input: xt, weight: wt, window: window, groups: 1, inputGradient: true,
            algorithm: .direct)
        let rounded = Self.sums(x: x, w: w, dy: dy, shape: s, round: BFloat16ProductTests.bf16)
        let exact = Self.sums(x: x, w: w, dy: dy, shape: s, round: { $0 })
        let results = [
            ("output", backend.doubles(output), \Sums.output, \Sums.outputMagnitude),
            ("input gradient", backend.doubles(gradients.input!), \Sums.input, \Sums.inputMagnitude),
            ("weight gradient", backend.doubles(gradients.weight), \Sums.weight, \Sums.weightMagnitude),
        ]
        for (name, got, value, magnitude) in results {
            #expect(Self.error(got, rounded[keyPath: value], rounded[keyPath: magnitude]) < 2e-6, "\(name), shape \(index)")
            #expect(Self.error(got, exact[keyPath: value], exact[keyPath: magnitude]) > 1e-4, "\(name) not rounded, shape \(index)")
        }
        // The bias gradient sums the output gradient itself, in f32: no rounding to bf16.
        let plane = output.shape[2] * output.shape[3]
        let biasWant = (0..<s.outputs).map { out in
            (0..<s.input[0]).reduce(0.0) { total, image in
                total + dy[(image * s.outputs + out) * plane..<(image * s.outputs + out + 1) * plane].reduce(0.0) { $0 + Double($1) }
            }
        }
        expectClose(backend.doubles(gradients.bias), biasWant, tolerance: 1e-4)
    }
}
