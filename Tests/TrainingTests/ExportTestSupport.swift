import Foundation
import Tokenizers

@testable import Training

/// SplitMix64: a seeded generator, so every export test sees the same weights.
struct ExportTestRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [lower, upper).
    mutating func uniform(_ lower: Float, _ upper: Float) -> Float {
        lower + (upper - lower) * Float(next() >> 40) / Float(1 << 24)
    }
}

enum ExportFixtures {
    /// Random weights of every parameter of `h`: matrices in ±0.5 (large enough that a transposed
    /// or permuted matrix changes the logits far beyond rounding), norm weights in [0.5, 1.5).
    static func randomWeights(_ h: LlamaHyperparameters, seed: UInt64) -> NamedWeights {
        var random = ExportTestRandom(seed: seed)
        var weights = NamedWeights()
        for (name, shape) in h.parameterShapes {
            let count = shape.reduce(1, *)
            let values: [Float] =
                shape.count == 1
                ? (0..<count).map { _ in random.uniform(0.5, 1.5) }
                : (0..<count).map { _ in random.uniform(-0.5, 0.5) }
            weights.set(name, shape: shape, values: values)
        }
        return weights
    }

    static func temporaryDirectory(_ label: String) throws -> String {
        let path = NSTemporaryDirectory() + "atelier-export-\(label)-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A small hand-made BPE over the byte alphabet: "th", "the", " t", " the", "e ", "in".
    static func handMadeVocabulary() throws -> BytePairVocabulary {
        func byte(_ c: Character) -> Int32 { Int32(c.asciiValue!) }
        return try BytePairVocabulary(merges: [
            .init(left: byte("t"), right: byte("h"), result: 256),
            .init(left: 256, right: byte("e"), result: 257),
            .init(left: byte(" "), right: byte("t"), result: 258),
            .init(left: 258, right: byte("h"), result: 259),
            .init(left: 259, right: byte("e"), result: 260),
            .init(left: byte("i"), right: byte("n"), result: 261),
        ])
    }
}

/// The model of docs/TRAINING.md written out in f64, straight from the named weights: the
/// reference the inference engine's logits are checked against.
struct ReferenceLlama {
    let h: LlamaHyperparameters
    let weights: NamedWeights

    private func matrix(_ name: String) -> (values: [Double], rows: Int, columns: Int) {
        let entry = weights[name]!
        return (entry.values.map(Double.init), entry.shape[0], entry.shape[1])
    }

    private func vector(_ name: String) -> [Double] { weights[name]!.values.map(Double.init) }

    /// y = W·x for a row-major [out, in] W.
    private func apply(_ w: (values: [Double], rows: Int, columns: Int), _ x: [Double]) -> [Double] {
        (0..<w.rows).map { o in
            var sum = 0.0
            for i in 0..<w.columns { sum += w.values[o * w.columns + i] * x[i] }
            return sum
        }
    }

    private func rmsNorm(_ x: [Double], _ weight: [Double]) -> [Double] {
        let meanSquare = x.reduce(0) { $0 + $1 * $1 } / Double(x.count)
        let scale = 1 / (meanSquare + Double(h.normEpsilon)).squareRoot()
        return zip(x, weight).map { $0 * scale * $1 }
    }

    /// Adjacent pairs (2i, 2i+1) of each head rotate by position · θ^(−2i/d).
    private func rope(_ x: [Double], heads: Int, position: Int) -> [Double] {
        var out = x
        let d = h.headWidth
        for head in 0..<heads {
            for i in 0..<(d / 2) {
                let angle = Double(position) * pow(Double(h.ropeTheta), -2 * Double(i) / Double(d))
                let a = x[head * d + 2 * i], b = x[head * d + 2 * i + 1]
                out[head * d + 2 * i] = a * cos(angle) - b * sin(angle)
                out[head * d + 2 * i + 1] = a * sin(angle) + b * cos(angle)
            }
        }
        return out
    }

    /// Logits after each token.
    func logits(_ tokens: [Int32]) -> [[Double]] {
        let d = h.headWidth, group = h.heads / h.kvHeads
        let embedding = matrix("token_embd.weight")
        var x = tokens.map { t in Array(embedding.values[(Int(t) * h.width)..<((Int(t) + 1) * h.width)]) }
        for layer in 0..<h.layers {
            let p = "blk.\(layer)."
            let (wq, wk, wv, wo) = (
                matrix(p + "attn_q.weight"), matrix(p + "attn_k.weight"), matrix(p + "attn_v.weight"), matrix(p + "attn_output.weight")
            )
            let normed = x.map { rmsNorm($0, vector(p + "attn_norm.weight")) }
            let q = normed.enumerated().map { t, a in rope(apply(wq, a), heads: h.heads, position: t) }
            let k = normed.enumerated().map { t, a in rope(apply(wk, a), heads: h.kvHeads, position: t) }
            let v = normed.map { apply(wv, $0) }
            for t in x.indices {
                var attended = [Double](repeating: 0, count: h.heads * d)
                for head in 0..<h.heads {
                    let kvHead = head / group
                    let scores = (0...t).map { u in
                        (0..<d).reduce(0.0) { $0 + q[t][head * d + $1] * k[u][kvHead * d + $1] } / Double(d).squareRoot()
                    }
                    let top = scores.max()!
                    let exps = scores.map { exp($0 - top) }
                    let total = exps.reduce(0, +)
                    for u in 0...t {
                        for j in 0..<d { attended[head * d + j] += exps[u] / total * v[u][kvHead * d + j] }
                    }
                }
                x[t] = zip(x[t], apply(wo, attended)).map(+)
            }
            let (gate, up, down) = (matrix(p + "ffn_gate.weight"), matrix(p + "ffn_up.weight"), matrix(p + "ffn_down.weight"))
            for t in x.indices {
                let m = rmsNorm(x[t], vector(p + "ffn_norm.weight"))
                let g = apply(gate, m), u = apply(up, m)
                let hidden = zip(g, u).map { gi, ui in gi / (1 + exp(-gi)) * ui }
                x[t] = zip(x[t], apply(down, hidden)).map(+)
            }
        }
        let output = matrix(h.tiedEmbeddings ? "token_embd.weight" : "output.weight")
        return x.map { apply(output, rmsNorm($0, vector("output_norm.weight"))) }
    }
}
