import Autograd
import NeuralNetworks
import TensorOps
import Tensors
import Testing

/// Convolution, pooling and batch normalisation against PyTorch (float64) on the same inputs, in f64
/// and in f32. The f64 runs differ from the references only by the references' rounding to f32.
@Suite struct ImageOpReferenceTests {
    let backend = CPUTensorBackend(threads: 2)

    static let precisions: [(DType, Double)] = [(.f64, 1e-6), (.f32, 1e-5)]

    @Test(arguments: [0, 1]) func convolutionMatchesPyTorch(_ precision: Int) throws {
        let (dtype, tolerance) = Self.precisions[precision]
        let fixture = try Fixture("conv.gguf", backend: backend)
        for suffix in ["", "2"] {
            let kernel = try fixture.values("weight" + suffix).shape
            func setting(_ key: String) throws -> Int { Int(try fixture.number("fixture." + key + suffix)) }
            let window = Window2D(
                kernel: (kernel[2], kernel[3]), stride: (try setting("stride"), try setting("stride")),
                padding: (try setting("padding"), try setting("padding")), dilation: (try setting("dilation"), try setting("dilation")))
            let groups = Int(try fixture.number("fixture.groups" + suffix))
            let x = Variable(try fixture.tensor("x" + suffix, dtype: dtype), backend: backend, requiresGradient: true)
            let weight = Variable(try fixture.tensor("weight" + suffix, dtype: dtype), backend: backend, requiresGradient: true)
            let bias = Variable(try fixture.tensor("bias" + suffix, dtype: dtype), backend: backend, requiresGradient: true)
            let output = x.conv2d(weight: weight, bias: bias, window: window, groups: groups)
            try fixture.expect(output.value, matches: "output" + suffix, tolerance: tolerance)
            output.backward(gradient: try fixture.tensor("upstream" + suffix, dtype: dtype))
            try fixture.expect(x.gradient!, matches: "grad_x" + suffix, tolerance: tolerance)
            try fixture.expect(weight.gradient!, matches: "grad_weight" + suffix, tolerance: tolerance)
            try fixture.expect(bias.gradient!, matches: "grad_bias" + suffix, tolerance: tolerance)
        }
    }

    @Test(arguments: [0, 1]) func poolingMatchesPyTorch(_ precision: Int) throws {
        let (dtype, tolerance) = Self.precisions[precision]
        let fixture = try Fixture("pool.gguf", backend: backend)
        let cases: [(Pooling, Window2D, String, String, String)] = [
            (.max, Window2D(kernel: 3, stride: 2, padding: 1), "max_out", "gmax", "max_grad"),
            (.average, Window2D(kernel: 3, stride: 2, padding: 1), "avg_out", "gavg", "avg_grad"),
            (.average, Window2D(kernel: 2, stride: 2), "avg2_out", "gavg2", "avg2_grad"),
        ]
        for (kind, window, output, upstream, gradient) in cases {
            let x = Variable(try fixture.tensor("x", dtype: dtype), backend: backend, requiresGradient: true)
            let pooled = x.pool2d(kind, window: window)
            try fixture.expect(pooled.value, matches: output, tolerance: tolerance)
            pooled.backward(gradient: try fixture.tensor(upstream, dtype: dtype))
            try fixture.expect(x.gradient!, matches: gradient, tolerance: tolerance)
        }
    }

    @Test(arguments: [0, 1]) func batchNormMatchesPyTorch(_ precision: Int) throws {
        let (dtype, tolerance) = Self.precisions[precision]
        let fixture = try Fixture("batchnorm.gguf", backend: backend)
        for (suffix, weightName, biasName, output, upstream, gx, gw, gb) in [
            ("", "weight", "bias", "bn_out", "bn_upstream", "grad_x", "grad_weight", "grad_bias"),
            ("1d", "w1d", "b1d", "out1d", "upstream1d", "grad_x1d", "grad_w1d", "grad_b1d"),
        ] {
            let input = try fixture.tensor(suffix.isEmpty ? "x" : "x1d", dtype: dtype)
            let norm = BatchNorm(
                channels: input.shape[1], epsilon: try fixture.number("fixture.eps"), momentum: try fixture.number("fixture.momentum"),
                name: "bn", backend: backend, dtype: dtype)
            norm.weight.assign(try fixture.tensor(weightName, dtype: dtype))
            norm.bias.assign(try fixture.tensor(biasName, dtype: dtype))
            let x = Variable(input, backend: backend, requiresGradient: true)
            let y = norm(x, training: true)
            try fixture.expect(y.value, matches: output, tolerance: tolerance)
            y.backward(gradient: try fixture.tensor(upstream, dtype: dtype))
            try fixture.expect(x.gradient!, matches: gx, tolerance: tolerance)
            try fixture.expect(norm.weight.gradient!, matches: gw, tolerance: tolerance)
            try fixture.expect(norm.bias.gradient!, matches: gb, tolerance: tolerance)
            let mean = try fixture.values("running_mean" + suffix).values, variance = try fixture.values("running_var" + suffix).values
            #expect(Fixture.relativeError(norm.runningMean, mean) <= tolerance)
            #expect(Fixture.relativeError(norm.runningVariance, variance) <= tolerance)
            if suffix.isEmpty {
                let evaluation = withoutGradients {
                    norm(Variable(try! fixture.tensor("x_eval", dtype: dtype), backend: backend), training: false)
                }
                try fixture.expect(evaluation.value, matches: "eval_out", tolerance: tolerance)
            }
        }
    }

    @Test func oneCycleScheduleMatchesPyTorch() throws {
        let fixture = try Fixture("onecycle.gguf", backend: backend)
        let expected = try fixture.floats("fixture.learning_rates")
        let schedule = OneCycleSchedule(peak: 0.1, totalSteps: expected.count, warmupFraction: 0.25, divisor: 25, finalDivisor: 1e4)
        let actual = expected.indices.map { schedule.learningRate(at: $0) }
        // The fixture stores f32: 6e-8 relative.
        for (a, e) in zip(actual, expected) { #expect(abs(a - e) <= 1e-6 * e, "\(a) against \(e)") }
    }
}
