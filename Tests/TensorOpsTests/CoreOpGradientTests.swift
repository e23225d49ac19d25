import Autograd
import TensorOps
import Tensors
import Testing

@Suite struct CoreOpGradientTests {
    let check = GradientCheck()

    @Test func broadcastingArithmetic() {
        let a = check.random([2, 3, 4], seed: 1)
        let b = check.random([3, 1], seed: 2)
        check.check([a, b]) { $0[0] + $0[1] }
        check.check([a, b]) { $0[0] - $0[1] }
        check.check([a, b]) { $0[0] * $0[1] }
        let positive = check.backend.tensor(check.backend.doubles(b).map { 1.5 + $0 }, shape: [3, 1])
        check.check([a, positive]) { $0[0] / $0[1] }
    }

    @Test func unaryFunctions() {
        let x = check.random([3, 5], seed: 3)
        let positive = check.backend.tensor(check.backend.doubles(x).map { 1.2 + $0 }, shape: [3, 5])
        check.check([x]) { -$0[0] }
        check.check([x]) { $0[0].exp() }
        check.check([positive]) { $0[0].log() }
        check.check([positive]) { $0[0].squareRoot() }
        check.check([x]) { $0[0].squared() }
        check.check([x]) { $0[0].tanh() }
        check.check([positive]) { $0[0].reciprocal() }
        check.check([x]) { $0[0].scaled(by: -2.5) }
    }

    @Test func matmulInEveryLayout() {
        let a = check.random([2, 3, 4], seed: 4)
        let b = check.random([2, 4, 5], seed: 5)
        let shared = check.random([4, 5], seed: 6)
        let sharedT = check.random([5, 4], seed: 7)
        check.check([a, b]) { $0[0].matmul($0[1]) }
        check.check([a, shared]) { $0[0].matmul($0[1]) }
        check.check([a, sharedT]) { $0[0].matmul($0[1], transposeB: true) }
        check.check([a, sharedT]) { $0[0].linear($0[1]) }
        let at = check.random([2, 4, 3], seed: 8)
        check.check([at, b]) { $0[0].matmul($0[1], transposeA: true) }
        let bt = check.random([2, 5, 4], seed: 9)
        check.check([at, bt]) { $0[0].matmul($0[1], transposeA: true, transposeB: true) }
        // A transposed view as the left operand, a sliced view as the right.
        let wide = check.random([4, 7], seed: 10)
        check.check([check.random([3, 4], seed: 11), wide]) { $0[0].matmul($0[1].sliced(axis: 1, 2..<7)) }
        check.check([check.random([4, 3], seed: 12), shared]) { $0[0].transposed(0, 1).matmul($0[1]) }
    }

    @Test func reductionsAndViews() {
        let x = check.random([2, 3, 4], seed: 13)
        check.check([x]) { $0[0].sum() }
        check.check([x]) { $0[0].sum(axes: [1]) }
        check.check([x]) { $0[0].sum(axes: [0, 2], keepingAxes: true) }
        check.check([x]) { $0[0].mean(axes: [-1]) }
        check.check([x]) { $0[0].reshaped([6, 4]) }
        check.check([x]) { $0[0].transposed(0, 2).contiguous() }
        check.check([x]) { $0[0].permuted([2, 0, 1]).reshaped([4, 6]) }
        check.check([x]) { $0[0].sliced(axis: 1, 1..<3) }
        let y = check.random([2, 2, 4], seed: 14)
        check.check([x, y]) { Variable.concat([$0[0], $0[1]], axis: 1) }
    }

    @Test func gradientsAccumulateAndFrozenLeavesGetNone() {
        let backend = check.backend
        let w = Variable(check.random([3], seed: 15), backend: backend, requiresGradient: true)
        let frozen = Variable(check.random([3], seed: 16), backend: backend, requiresGradient: false)
        (w * frozen).sum().backward()
        (w * frozen).sum().backward()
        let expected = backend.doubles(frozen.value).map { 2 * $0 }
        #expect(zip(backend.doubles(w.gradient!), expected).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(frozen.gradient == nil)
        w.zeroGradient()
        #expect(w.gradient == nil)
        let inside = withoutGradients { (w * frozen).sum() }
        #expect(!inside.requiresGradient)
    }

    @Test func checkpointedBlockMatchesPlainBackward() {
        let backend = check.backend
        let x = check.random([4, 3], seed: 17)
        let weight = check.random([5, 3], seed: 18)
        func run(checkpoint: Bool) -> ([Double], [Double]) {
            let input = Variable(x, backend: backend, requiresGradient: true)
            let w = Variable(weight, backend: backend, requiresGradient: true)
            let block: ([Variable]) -> Variable = { $0[0].linear(w).tanh() }
            let out = checkpoint ? checkpointed([input], block) : block([input])
            out.squared().sum().backward()
            return (backend.doubles(input.gradient!), backend.doubles(w.gradient!))
        }
        let (plainX, plainW) = run(checkpoint: false)
        let (savedX, savedW) = run(checkpoint: true)
        #expect(plainX == savedX)
        #expect(plainW == savedW)
    }
}
