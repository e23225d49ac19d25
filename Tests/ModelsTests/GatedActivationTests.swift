import Compute
import Foundation
import Testing

/// The CPU backend's vectorized SwiGLU / GeGLU against the definitions evaluated in double
/// precision, and independent of how elements are split over threads.
@Suite struct GatedActivationTests {
    /// x from −90 to 90: both tails, the region near zero, and the exponent's clamping range.
    static let inputs: [Float] =
        (0..<3601).map { Float($0 - 1800) * 0.05 }
        + [-1e-6, 1e-6, -1e-30, 0, 1e-30, -200, 200, -Float.greatestFiniteMagnitude, Float.greatestFiniteMagnitude]

    /// SiLU x·σ(x) and tanh-GELU 0.5·x·(1 + tanh(u)), u = √(2/π)(x + 0.044715x³). GELU is written
    /// as x·σ(2u), the same function (1 + tanh(u) = 2σ(2u)): in double, 1 + tanh(u) is exactly 0
    /// once u < −19, so the tanh form cannot serve as the reference for the negative tail.
    static func reference(_ activation: GatedActivation, _ x: Double) -> Double {
        switch activation {
        case .silu: return x / (1 + Foundation.exp(-x))
        case .geluTanh: return x / (1 + Foundation.exp(-2 * 0.797_884_560_802_865_4 * x * (1 + 0.044715 * x * x)))
        }
    }

    /// The tanh form, in double, agrees with the reference above where its cancellation is still
    /// small (x ≥ −3: 1 + tanh(u) ≥ 2e-3).
    @Test func geluReferenceIsTheTanhForm() {
        for x in stride(from: -3.0, through: 6.0, by: 0.01) {
            let tanhForm = 0.5 * x * (1 + tanh(0.797_884_560_802_865_4 * x * (1 + 0.044715 * x * x)))
            #expect(abs(tanhForm - Self.reference(.geluTanh, x)) <= 1e-12 * abs(tanhForm) + 1e-15, "x = \(x)")
        }
    }

    static func apply(_ activation: GatedActivation, threads: Int, gate: [Float], up: [Float]) -> [Float] {
        let backend = CPUBackend(threads: threads)
        let g = backend.makeMatrix(rows: 1, columns: gate.count), u = backend.makeMatrix(rows: 1, columns: up.count)
        let out = backend.makeMatrix(rows: 1, columns: gate.count)
        g.floats.update(from: gate, count: gate.count)
        u.floats.update(from: up, count: up.count)
        backend.gatedActivation(activation, gate: g, up: u, into: out)
        return Array(UnsafeBufferPointer(start: out.floats, count: gate.count))
    }

    @Test(arguments: [GatedActivation.silu, .geluTanh])
    func matchesTheDefinition(_ activation: GatedActivation) {
        let up = Self.inputs.indices.map { Float(1 + $0 % 3) * ($0 % 2 == 0 ? 1 : -0.5) }
        let got = Self.apply(activation, threads: 1, gate: Self.inputs, up: up)
        var worst = 0.0
        for (i, x) in Self.inputs.enumerated() {
            let expected = Self.reference(activation, Double(x)) * Double(up[i])
            // A few ulp of the result, plus what rounding the sigmoid's argument a to f32 moves it by
            // (relative |a|·(1 − σ(a)) per unit of relative error in a; a = x is exact for SiLU), or
            // a negligible absolute error where the result underflows.
            let a = activation == .silu ? 0 : abs(2 * 0.797_884_560_802_865_4 * Double(x) * (1 + 0.044715 * Double(x) * Double(x)))
            let ulps = 8 + 3 * a
            let error = abs(Double(got[i]) - expected)
            let allowed = ulps * Double(Float.ulpOfOne) * abs(expected) + 1e-36
            if x.magnitude < 1e30, abs(expected) > 1e-30 { worst = max(worst, error / abs(expected) / ulps) }
            if abs(expected) > Double(Float.greatestFiniteMagnitude) {
                #expect(got[i].isInfinite && (got[i] > 0) == (expected > 0), "\(activation)(\(x)) × \(up[i]): \(got[i]) vs \(expected)")
            } else {
                #expect(error <= allowed, "\(activation)(\(x)) × \(up[i]): \(got[i]) vs \(expected)")
            }
        }
        #expect(worst <= Double(Float.ulpOfOne), "worst error \(worst / Double(Float.ulpOfOne)) of the allowed ulps")
    }

    /// 20,001 elements split over two threads end at an odd index, so one thread's tail goes through
    /// the padded vector while the other thread computes the same elements in full vectors.
    @Test(arguments: [GatedActivation.silu, .geluTanh])
    func sameBitsWhateverTheThreadSplit(_ activation: GatedActivation) {
        let gate = (0..<20_001).map { Float(sin(Double($0) * 0.37)) * 6 }
        let up = (0..<20_001).map { Float(cos(Double($0) * 0.11)) }
        let one = Self.apply(activation, threads: 1, gate: gate, up: up)
        let two = Self.apply(activation, threads: 2, gate: gate, up: up)
        #expect(one.map(\.bitPattern) == two.map(\.bitPattern))
    }
}
