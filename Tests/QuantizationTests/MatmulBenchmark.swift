import Foundation
import GGUF
import Quantization
import Testing

/// Throughput report, not a test of speed (no timing assertions). Run with:
///   ATELIER_QUANT_BENCH=1 swift test -c release --scratch-path .build-quant --filter MatmulBenchmark
@Suite struct MatmulBenchmark {
    static let enabled = ProcessInfo.processInfo.environment["ATELIER_QUANT_BENCH"] != nil

    /// rows x columns of `type`, built by tiling 64 quantized random rows (contents do not affect speed).
    static func matrix(_ type: GGMLType, rows: Int, columns: Int) -> [UInt8] {
        let seedRows = 64
        let block = quantized(type, randomFloats(seedRows * columns, seed: 42, blockSize: type.blockSize))
        let rowBytes = columns / type.blockSize * type.typeSize
        var out = [UInt8](repeating: 0, count: rows * rowBytes)
        out.withUnsafeMutableBytes { dst in
            block.withUnsafeBytes { src in
                for r in 0..<rows {
                    (dst.baseAddress! + r * rowBytes).copyMemory(from: src.baseAddress! + (r % seedRows) * rowBytes, byteCount: rowBytes)
                }
            }
        }
        return out
    }

    static func measure(
        _ type: GGMLType, rows: Int, columns: Int, batch: Int, interleaved: Bool = false
    ) throws -> (seconds: Double, bytes: Int) {
        let layout = interleaved ? WeightLayout.preferred(for: type) : .rowMajor
        let kernel = try Quantization.dotKernel(for: type, layout: layout)
        var w = matrix(type, rows: rows, columns: columns)
        let rowBytes = w.count / rows
        if interleaved {
            let source = w
            source.withUnsafeBytes { s in
                w.withUnsafeMutableBytes {
                    layout.repack(
                        type, source: s.baseAddress!, rowBytes: rowBytes, groups: 0..<(rows / layout.rowsPerGroup), into: $0.baseAddress!)
                }
            }
        }
        let aRowBytes = kernel.activationRowBytes(count: columns)
        var x = randomFloats(columns * batch, seed: 9)
        var acts = [UInt8](repeating: 0, count: aRowBytes * batch)
        var out = [Float](repeating: 0, count: rows * batch)
        var best = Double.infinity
        for trial in 0..<6 {
            x[0] = Float(trial)
            x.withUnsafeBufferPointer { xp in
                acts.withUnsafeMutableBytes { ap in
                    for b in 0..<batch {
                        kernel.quantizeActivations(xp.baseAddress! + b * columns, count: columns, into: ap.baseAddress! + b * aRowBytes)
                    }
                }
            }
            let start = ContinuousClock.now
            w.withUnsafeBytes { wp in
                acts.withUnsafeBytes { ap in
                    out.withUnsafeMutableBufferPointer { op in
                        kernel.matmul(
                            weights: wp.baseAddress!, weightRowBytes: rowBytes, rows: 0..<rows, columns: columns,
                            activations: ap.baseAddress!, activationRowBytes: aRowBytes, batch: batch,
                            output: op.baseAddress!, outputStride: rows)
                    }
                }
            }
            let elapsed = ContinuousClock.now - start
            let s = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            if trial > 0 { best = min(best, s) }
        }
        #expect(out.allSatisfy { $0.isFinite })
        return (best, w.count)
    }

    @Test(.enabled(if: enabled, "a throughput report, not a test; ATELIER_QUANT_BENCH=1 prints it")) func report() throws {
        var lines: [String] = []
        let cases: [(GGMLType, Int, Int)] = [
            (.q4_1, 49152, 576), (.q4_1, 576, 1536), (.q4_1, 131072, 1024),
            (.q8_0, 49152, 576), (.q8_0, 65536, 1024),
            (.q5_0, 65536, 1024),
            (.q4_K, 2048, 1024), (.q4_K, 131072, 1024),
            (.q6_K, 640, 2048), (.q6_K, 65536, 1024),
            (.f32, 49152, 576),
        ]
        for (type, rows, columns) in cases {
            let one = try Self.measure(type, rows: rows, columns: columns, batch: 1)
            let eight = try Self.measure(type, rows: min(rows, 16384), columns: columns, batch: 8)
            let gflop = 2.0 * Double(min(rows, 16384)) * Double(columns) * 8 / eight.seconds / 1e9
            lines.append(
                String(
                    format: "%-5@ %6d x %-5d  %6.1f MB  batch1 %8.3f ms %6.2f GB/s | batch8 %7.2f GFLOP/s",
                    type.name, rows, columns, Double(one.bytes) / 1e6, one.seconds * 1e3,
                    Double(one.bytes) / one.seconds / 1e9, gflop))
            if WeightLayout.preferred(for: type) != .rowMajor {
                let one = try Self.measure(type, rows: rows, columns: columns, batch: 1, interleaved: true)
                let eight = try Self.measure(type, rows: min(rows, 16384), columns: columns, batch: 8, interleaved: true)
                let gflop = 2.0 * Double(min(rows, 16384)) * Double(columns) * 8 / eight.seconds / 1e9
                lines.append(
                    String(
                        format: "%-5@ %6d x %-5d  interleaved   batch1 %8.3f ms %6.2f GB/s | batch8 %7.2f GFLOP/s",
                        type.name, rows, columns, one.seconds * 1e3, Double(one.bytes) / one.seconds / 1e9, gflop))
            }
        }
        print(lines.joined(separator: "\n"))
    }
}
