import Autograd
import Compute
import GGUF
import Quantization
import Tensors
import Testing

@testable import TensorOps

/// The fused head + cross-entropy (one online-softmax pass over W's row tiles) against the two ops
/// it replaces, `frozenLinear` then `crossEntropy`, in f64.
@Suite struct FrozenHeadCrossEntropyTests {
    /// Relative closeness against the reference's largest magnitude.
    static func close(_ p: [Double], _ q: [Double], tolerance: Double) -> Bool {
        let largest = q.map(abs).max() ?? 0
        return p.count == q.count && zip(p, q).allSatisfy { abs($0 - $1) <= tolerance * max(1, largest) }
    }

    /// Loss and input gradient of the composed ops and of the fused one, for the same inputs.
    static func both(_ backend: CPUTensorBackend, _ x: Tensor, _ w: Weight, _ targets: [Int32])
        -> (composed: (loss: Double, gradient: [Double]), fused: (loss: Double, gradient: [Double]))
    {
        let ids = backend.tensor(targets, shape: [targets.count])
        func run(_ op: (Variable) -> Variable) -> (loss: Double, gradient: [Double]) {
            let input = Variable(x, backend: backend, requiresGradient: true)
            let loss = op(input)
            loss.backward()
            return (backend.doubles(loss.value)[0], backend.doubles(input.gradient!))
        }
        return (
            run { $0.frozenLinear(w).crossEntropy(targets: ids, ignoreIndex: -1) },
            run { $0.frozenLinearCrossEntropy(w, targets: ids, ignoreIndex: -1) }
        )
    }

    /// 700 rows of 1,024 columns make several tiles (at most 256 rows each), so a token's maximum
    /// moves between tiles and between workers; logits near ±100 would overflow exp without the
    /// running maximum; some targets are ignored, some sit on the first and last rows.
    @Test(arguments: [(1, 5), (2, 5), (2, 40), (3, 40)])
    func fusedEqualsLinearThenCrossEntropy(threads: Int, tokens: Int) {
        let check = GradientCheck(threads: threads)
        let backend = check.backend
        let (vocabulary, inputs) = (700, 1024)
        #expect(CPUTensorBackend.tiling(rows: vocabulary, columns: inputs, workers: threads).count >= 3)
        let w = LoRALinearOpTests.weight(rows: vocabulary, columns: inputs, seed: 5)
        let x = check.random([tokens, inputs], seed: 21, scale: 2)
        let targets = (0..<tokens).map { i -> Int32 in
            i % 4 == 3 ? -1 : i == 0 ? 0 : i == 1 ? Int32(vocabulary - 1) : Int32((i * 263) % vocabulary)
        }
        let (composed, fused) = Self.both(backend, x, w, targets)
        #expect(abs(fused.loss - composed.loss) <= 1e-12 * abs(composed.loss))
        #expect(Self.close(fused.gradient, composed.gradient, tolerance: 1e-12))
        // Not vacuous: the logits pass 60 in size (exp(89) overflows f32), and ignored rows have no
        // gradient while counted ones do.
        let logits = backend.doubles(backend.frozenLinear(x, weight: w))
        #expect((logits.map(abs).max() ?? 0) > 60)
        #expect(fused.gradient[3 * inputs..<4 * inputs].allSatisfy { $0 == 0 })
        #expect(fused.gradient[2 * inputs..<3 * inputs].contains { $0 != 0 })
    }

    @Test func largeLogitsStayFinite() {
        let check = GradientCheck(threads: 2)
        let backend = check.backend
        let w = LoRALinearOpTests.weight(rows: 700, columns: 1024, seed: 8)
        let x = check.random([6, 1024], seed: 3, scale: 4)
        let targets: [Int32] = [1, 100, 300, 450, 600, 699]
        let (composed, fused) = Self.both(backend, x, w, targets)
        #expect((backend.doubles(backend.frozenLinear(x, weight: w)).map(abs).max() ?? 0) > 120)
        #expect(fused.loss.isFinite && abs(fused.loss - composed.loss) <= 1e-12 * abs(composed.loss))
        #expect(Self.close(fused.gradient, composed.gradient, tolerance: 1e-12))
    }

    /// f32 (the vectorised exponentials and the one-call dequantization) against the f64 reference.
    @Test(arguments: [1, 2])
    func singlePrecisionMatchesDoubleReference(threads: Int) {
        let check = GradientCheck(threads: threads)
        let backend = check.backend
        let w = LoRALinearOpTests.weight(rows: 700, columns: 1024, seed: 9)
        let x = check.random([40, 1024], seed: 4, scale: 0.3)
        let x32 = backend.zeros(x.shape, dtype: .f32)
        backend.copy(x, into: x32)
        let targets = (0..<40).map { Int32(($0 * 97) % 700) }
        let reference = Self.both(backend, x, w, targets).composed
        let (_, fused) = Self.both(backend, x32, w, targets)
        #expect(abs(fused.loss - reference.loss) <= 1e-5 * abs(reference.loss))
        #expect(Self.close(fused.gradient, reference.gradient, tolerance: 1e-5))
    }

    @Test func noTargetCountsGivesZeroLossAndGradient() {
        let check = GradientCheck(threads: 2)
        let backend = check.backend
        let w = LoRALinearOpTests.weight(rows: 300, columns: 64, seed: 2)
        let (composed, fused) = Self.both(backend, check.random([4, 64], seed: 6), w, [-1, -1, -1, -1])
        #expect(composed.loss == 0 && fused.loss == 0)
        #expect(fused.gradient.allSatisfy { $0 == 0 })
    }

    /// Without gradients (evaluation) the op returns the same loss and keeps no gradient, both on
    /// the online pass (≥ 32 tokens) and on the inference kernels' path (fewer).
    @Test(arguments: [8, 40])
    func evaluationLossWithoutGradient(tokens: Int) {
        let check = GradientCheck(threads: 2)
        let backend = check.backend
        let w = LoRALinearOpTests.weight(rows: 700, columns: 1024, seed: 10)
        let x = backend.zeros([tokens, 1024], dtype: .f32)
        backend.copy(check.random([tokens, 1024], seed: 12, scale: 0.3), into: x)
        let ids = backend.tensor((0..<tokens).map { Int32(($0 * 31) % 700) }, shape: [tokens])
        let reference = backend.doubles(
            backend.crossEntropy(logits: backend.frozenLinear(x, weight: w), targets: ids, ignoreIndex: -1).loss)[0]
        let (loss, gradient, counted) = backend.frozenLinearCrossEntropy(x, weight: w, targets: ids, ignoreIndex: -1, inputGradient: false)
        #expect(gradient == nil && counted == tokens)
        #expect(abs(backend.doubles(loss)[0] - reference) <= 1e-5 * reference)
        let recorded = withoutGradients { Variable(x, backend: backend, requiresGradient: true).frozenLinearCrossEntropy(w, targets: ids) }
        #expect(!recorded.requiresGradient && abs(backend.doubles(recorded.value)[0] - reference) <= 1e-5 * reference)
    }

    /// A tile of a block-quantized weight is dequantized in one call over its rows: the same floats
    /// as dequantizing each row on its own.
    @Test func tileDequantizationEqualsRowByRow() {
        let (rows, columns) = (9, 96)
        var state: UInt64 = 0x2545_F491_4F6C_DD1D
        let floats = (0..<rows * columns).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int(state >> 40) % 2001 - 1000) / 500
        }
        let type = GGMLType.q8_0
        let rowBytes = columns / type.blockSize * type.typeSize
        let backend = CPUTensorBackend(threads: 1)
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: rows * rowBytes, alignment: 64)
        defer { bytes.deallocate() }
        floats.withUnsafeBufferPointer { Quantization.quantize(type, from: $0.baseAddress!, to: bytes, count: rows * columns) }
        let w = Weight(
            name: "q", type: type, rows: rows, columns: columns, rowBytes: rowBytes, data: UnsafeRawPointer(bytes), owner: backend)
        var tile = [Float](repeating: .nan, count: 4 * columns)
        var scratch = [Float](repeating: 0, count: columns)
        tile.withUnsafeMutableBufferPointer { t in
            scratch.withUnsafeMutableBufferPointer { backend.dequantizeRows(w, 3..<7, into: t.baseAddress!, scratch: $0.baseAddress!) }
        }
        var expected = [Float](repeating: 0, count: columns)
        for (index, row) in (3..<7).enumerated() {
            expected.withUnsafeMutableBufferPointer {
                Quantization.dequantize(type, from: UnsafeRawPointer(bytes) + row * rowBytes, to: $0.baseAddress!, count: columns)
            }
            #expect(Array(tile[index * columns..<(index + 1) * columns]) == expected)
        }
    }
}
