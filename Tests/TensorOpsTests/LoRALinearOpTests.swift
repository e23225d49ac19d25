import Autograd
import Compute
import GGUF
import Tensors
import Testing

@testable import TensorOps

/// The fused LoRA op and the accumulating GEMM it is built on, against the composed ops and a
/// product written out in f64.
@Suite struct LoRALinearOpTests {
    /// An f32 frozen weight [rows, columns] held by its own storage.
    final class Storage {
        let values: UnsafeMutablePointer<Float>
        init(_ floats: [Float]) {
            values = .allocate(capacity: floats.count)
            values.initialize(from: floats, count: floats.count)
        }
        deinit { values.deallocate() }
    }

    static func weight(rows: Int, columns: Int, seed: UInt64) -> Weight {
        var state = seed | 1
        let floats = (0..<rows * columns).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int(state >> 40) % 2001 - 1000) / 1000
        }
        let storage = Storage(floats)
        return Weight(
            name: "w", type: .f32, rows: rows, columns: columns, rowBytes: 4 * columns, data: UnsafeRawPointer(storage.values),
            owner: storage)
    }

    @Test(arguments: [3, 48])
    func fusedEqualsFrozenPlusScaledLowRankBranch(tokens: Int) {
        let check = GradientCheck(threads: 2)
        let backend = check.backend
        let (inputs, outputs, rank, scale) = (64, 40, 4, 2.5)
        let w = Self.weight(rows: outputs, columns: inputs, seed: 7)
        let x = check.random([2, tokens, inputs], seed: 1)
        let a = check.random([rank, inputs], seed: 2, scale: 0.2)
        let b = check.random([outputs, rank], seed: 3, scale: 0.2)
        let projection = check.random([2, tokens, outputs], seed: 4)

        func run(fused: Bool) -> (output: [Double], x: [Double], a: [Double], b: [Double]) {
            let (vx, va, vb) = (
                Variable(x, backend: backend, requiresGradient: true), Variable(a, backend: backend, requiresGradient: true),
                Variable(b, backend: backend, requiresGradient: true)
            )
            let y =
                fused
                ? vx.loraLinear(w, a: va, b: vb, scale: scale)
                : vx.frozenLinear(w) + vx.linear(va).linear(vb).scaled(by: scale)
            (y * Variable(projection, backend: backend)).sum().backward()
            return (
                backend.doubles(y.value), backend.doubles(vx.gradient!), backend.doubles(va.gradient!), backend.doubles(vb.gradient!)
            )
        }
        let (fused, composed) = (run(fused: true), run(fused: false))
        func close(_ p: [Double], _ q: [Double]) -> Bool {
            let largest = q.map(abs).max() ?? 0
            return p.count == q.count && zip(p, q).allSatisfy { abs($0 - $1) <= 1e-12 * max(1, largest) }
        }
        #expect(close(fused.output, composed.output))
        #expect(close(fused.x, composed.x))
        #expect(close(fused.a, composed.a))
        #expect(close(fused.b, composed.b))
        // And the branch is not vacuous: the update changes the output.
        #expect(!close(fused.output, backend.doubles(backend.frozenLinear(x, weight: w))))
    }

    @Test(arguments: [(false, false), (false, true), (true, false), (true, true)])
    func accumulatingMatmulAddsTheScaledProduct(transposeA: Bool, transposeB: Bool) {
        let check = GradientCheck(threads: 2)
        let backend = check.backend
        let (m, n, k, factor) = (50, 37, 23, -1.75)
        let a = check.random(transposeA ? [k, m] : [m, k], seed: 11)
        let b = check.random(transposeB ? [n, k] : [k, n], seed: 12)
        let c = check.random([m, n], seed: 13)
        let (pa, pb, start) = (backend.doubles(a), backend.doubles(b), backend.doubles(c))
        backend.matmul(a, b, transposeA: transposeA, transposeB: transposeB, factor: factor, addingInto: c)
        let result = backend.doubles(c)
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for p in 0..<k { sum += (transposeA ? pa[p * m + i] : pa[i * k + p]) * (transposeB ? pb[j * k + p] : pb[p * n + j]) }
                worst = max(worst, abs(result[i * n + j] - (start[i * n + j] + factor * sum)))
            }
        }
        #expect(worst <= 1e-12)
    }

    @Test func frozenWeightTilesCoverTheRowsAndShareEvenlyOverTheWorkers() {
        for (rows, columns) in [(192, 576), (576, 576), (1536, 576), (576, 1536), (49_152, 576), (1, 64), (100, 64)] {
            for workers in [1, 2, 3, 8] {
                let (tile, count) = CPUTensorBackend.tiling(rows: rows, columns: columns, workers: workers)
                #expect(tile % 8 == 0 && tile >= 16)
                #expect(tile <= max(16, (1 << 18) / columns / 16 * 16))
                #expect(tile * count >= rows && tile * (count - 1) < rows, "\(rows) rows: \(count) tiles of \(tile)")
                // Every worker gets a tile when there are rows enough, and none gets much more than its share.
                #expect(count >= min(workers, rows / 16), "\(rows) rows over \(workers): \(count) tiles of \(tile)")
                let busiest = (count + workers - 1) / workers * tile
                #expect(
                    Double(busiest) <= 1.25 * Double(rows) / Double(workers) + 16, "\(rows) rows over \(workers): \(count) tiles of \(tile)"
                )
            }
        }
    }
}
