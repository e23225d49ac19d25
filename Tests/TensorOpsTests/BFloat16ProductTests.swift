import Autograd
import CBFloat16GEMM
import Compute
import Tensors
import Testing

@testable import TensorOps

#if canImport(Glibc)
import Glibc
#endif

/// The bf16 products with frozen tiles against exact references: f64 sums of the operands rounded
/// to bf16 as the hardware rounds them (nearest, ties to even). Only the f32 accumulation may
/// differ from the reference, so the tolerance is f32's (relative to Σ|a·b|), far below bf16's own
/// rounding — each test also checks that the unrounded f32 product is further off than that.
@Suite(.enabled(if: ProductPrecision.bfloat16Available, "this CPU lacks AVX512-BF16"))
struct BFloat16ProductTests {
    /// `x` rounded to bf16, nearest with ties to even (finite, normal values).
    static func bf16(_ x: Float) -> Float {
        let bits = x.bitPattern
        return Float(bitPattern: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) & 0xFFFF_0000)
    }

    static func random(_ count: Int, seed: UInt64) -> [Float] {
        var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        return (0..<count).map { _ in
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            return Float(Double(state >> 11) / Double(1 << 53) * 2 - 1)
        }
    }

    /// Row-major a [m, k] times b, where b is [k, n] or, `transposed`, [n, k]: f64 sums, and the sums of |products|.
    static func reference(_ a: [Float], _ b: [Float], m: Int, n: Int, k: Int, transposed: Bool, rounding: Bool)
        -> (values: [Double], magnitudes: [Double])
    {
        var values = [Double](repeating: 0, count: m * n), magnitudes = values
        for i in 0..<m {
            for j in 0..<n {
                for l in 0..<k {
                    let (x, y) = (a[i * k + l], transposed ? b[j * k + l] : b[l * n + j])
                    let product = rounding ? Double(bf16(x)) * Double(bf16(y)) : Double(x) * Double(y)
                    values[i * n + j] += product
                    magnitudes[i * n + j] += abs(product)
                }
            }
        }
        return (values, magnitudes)
    }

    /// Largest |got − want| / Σ|a·b| over the elements.
    static func error(_ got: [Float], _ want: (values: [Double], magnitudes: [Double])) -> Double {
        zip(got.indices, got).map { abs(Double($1) - want.values[$0]) / max(want.magnitudes[$0], 1e-30) }.max() ?? 0
    }

    /// Odd sizes on purpose: rows past the kernel's 12, columns past its 32 (masked stores), an odd
    /// k (the last pair padded), k past a panel's 16-pair blocks; and adding into C.
    @Test(arguments: [(1, 1, 1), (13, 31, 7), (30, 33, 64), (25, 70, 33), (12, 32, 130)])
    func gemmEqualsRoundedReference(m: Int, n: Int, k: Int) {
        for transposed in [true, false] {
            let a = Self.random(m * k, seed: UInt64(m * 100 + k)), b = Self.random(n * k, seed: UInt64(n * 7 + k))
            let stride = (k + 1) / 2 * 2
            var rounded = [UInt16](repeating: 0xFFFF, count: m * stride)
            var panels = [UInt32](repeating: 0xFFFF_FFFF, count: Int(atl_bf16_panel_words(Int64(n), Int64(k))))
            let initial = Self.random(m * n, seed: 3)
            var c = initial
            a.withUnsafeBufferPointer { atl_bf16_convert_rows($0.baseAddress, Int64(k), Int64(m), Int64(k), &rounded, Int64(stride)) }
            b.withUnsafeBufferPointer {
                if transposed {
                    atl_bf16_pack_transposed($0.baseAddress, Int64(k), Int64(n), Int64(k), &panels)
                } else {
                    atl_bf16_pack($0.baseAddress, Int64(n), Int64(k), Int64(n), &panels)
                }
            }
            atl_bf16_gemm(Int64(m), Int64(n), Int64(k), rounded, Int64(stride), panels, &c, Int64(n), 1)
            let want = Self.reference(a, b, m: m, n: n, k: k, transposed: transposed, rounding: true)
            let sums = zip(c, initial).map { $0 - $1 }
            #expect(Self.error(sums, want) < 1e-6, "m \(m) n \(n) k \(k) transposed \(transposed)")
            // The padding of odd rows is a zero, so padded pairs add nothing.
            if k % 2 == 1 { #expect((0..<m).allSatisfy { rounded[$0 * stride + k] == 0 }) }
            atl_bf16_gemm(Int64(m), Int64(n), Int64(k), rounded, Int64(stride), panels, &c, Int64(n), 0)
            #expect(Self.error(c, want) < 1e-6)
            if k >= 7 {
                // Not vacuous: the unrounded product is further from the rounded reference than that.
                let exact = Self.reference(a, b, m: m, n: n, k: k, transposed: transposed, rounding: false).values
                #expect(Self.error(exact.map(Float.init), want) > 1e-4)
            }
        }
    }

    /// An f32 weight [rows, columns] and its values.
    static func weight(rows: Int, columns: Int, seed: UInt64) -> (Weight, [Float]) {
        let w = LoRALinearOpTests.weight(rows: rows, columns: columns, seed: seed)
        let values = Array(UnsafeBufferPointer(start: w.data.assumingMemoryBound(to: Float.self), count: rows * columns))
        return (w, values)
    }

    static func floats(_ backend: CPUTensorBackend, _ t: Tensor) -> [Float] { backend.doubles(t).map(Float.init) }

    /// The backend's frozen products in bf16: 203 rows make tiles whose last one is odd (a padded
    /// pair), 77 columns an odd k forward and an odd n backward; 1–3 workers take the tiles.
    @Test(arguments: [1, 2, 3])
    func frozenProductsRoundOperandsToBFloat16(threads: Int) {
        let backend = CPUTensorBackend(threads: threads, frozenPrecision: .bfloat16)
        let (rows, columns, tokens) = (203, 77, 40)
        #expect(CPUTensorBackend.tiling(rows: rows, columns: columns, workers: threads).count == threads)
        let (w, wv) = Self.weight(rows: rows, columns: columns, seed: 11)
        let xv = Self.random(tokens * columns, seed: 5), dyv = Self.random(tokens * rows, seed: 6)
        let x = backend.tensor(xv, shape: [tokens, columns]), dy = backend.tensor(dyv, shape: [tokens, rows])

        let forward = Self.reference(xv, wv, m: tokens, n: rows, k: columns, transposed: true, rounding: true)
        #expect(Self.error(Self.floats(backend, backend.frozenLinear(x, weight: w)), forward) < 1e-6)
        let base = Self.random(tokens * rows, seed: 8)
        let sum = backend.tensor(base, shape: [tokens, rows])
        backend.frozenLinear(x, weight: w, addingInto: sum)
        #expect(Self.error(zip(Self.floats(backend, sum), base).map { $0 - $1 }, forward) < 1e-6)

        let gradient = Self.reference(dyv, wv, m: tokens, n: columns, k: rows, transposed: false, rounding: true)
        #expect(Self.error(Self.floats(backend, backend.frozenLinearInputGradient(dy, weight: w)), gradient) < 1e-6)

        // The f32 backend computes the unrounded products: not within bf16's tolerance of these.
        let f32 = CPUTensorBackend(threads: threads)
        #expect(Self.error(Self.floats(f32, f32.frozenLinear(f32.tensor(xv, shape: [tokens, columns]), weight: w)), forward) > 1e-4)
    }

    /// The fused head in bf16: the loss from logits of rounded operands (f64 reference), the input
    /// gradient within bf16's rounding of the softmax weights (2⁻⁸ relative) of the f64 reference.
    @Test(arguments: [1, 2])
    func frozenHeadInBFloat16(threads: Int) {
        let backend = CPUTensorBackend(threads: threads, frozenPrecision: .bfloat16)
        let (vocabulary, inputs, tokens) = (700, 96, 36)
        let (w, wv) = Self.weight(rows: vocabulary, columns: inputs, seed: 13)
        let xv = Self.random(tokens * inputs, seed: 7).map { $0 * 3 }
        let targets = (0..<tokens).map { Int32(($0 * 263) % vocabulary) }
        let x = backend.tensor(xv, shape: [tokens, inputs])
        let (loss, gradient, counted) = backend.frozenLinearCrossEntropy(
            x, weight: w, targets: backend.tensor(targets, shape: [tokens]), ignoreIndex: -1, inputGradient: true)
        #expect(counted == tokens)

        let logits = Self.reference(xv, wv, m: tokens, n: vocabulary, k: inputs, transposed: true, rounding: true).values
        var referenceLoss = 0.0
        var referenceGradient = [Double](repeating: 0, count: tokens * inputs)
        for t in 0..<tokens {
            let row = logits[t * vocabulary..<(t + 1) * vocabulary]
            let largest = row.max()!
            let total = row.reduce(0) { $0 + exp($1 - largest) }
            referenceLoss += (log(total) + largest - row[t * vocabulary + Int(targets[t])]) / Double(tokens)
            for v in 0..<vocabulary {
                let p = exp(row[t * vocabulary + v] - largest) / total - (v == Int(targets[t]) ? 1 : 0)
                for i in 0..<inputs { referenceGradient[t * inputs + i] += p * Double(wv[v * inputs + i]) / Double(tokens) }
            }
        }
        #expect(abs(backend.doubles(loss)[0] - referenceLoss) <= 1e-5 * referenceLoss)
        let got = backend.doubles(gradient!)
        let largest = referenceGradient.map(abs).max()!
        #expect(zip(got, referenceGradient).allSatisfy { abs($0 - $1) <= 4e-3 * largest })
    }
}
