// The 32-element block family: Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1.
//
// Nibble order is split, not interleaved: element e < 16 is the low nibble of qs[e], element e >= 16
// the high nibble of qs[e - 16]. Q5 types keep the fifth bit of element e in bit e of a u32.
// Float expressions mirror gguf-py's evaluation order (d*q, then + m) so results are bit-identical.

import GGUF

enum Legacy32 {
    static let blockSize = 32

    /// Byte offset of the packed codes and whether the block carries a min (Q4_1/Q5_1) or a sum (Q8_1).
    @inline(__always) static func qsOffset(_ type: GGMLTypeID) -> Int {
        switch type {
        case .q4_0, .q8_0: return 2
        case .q4_1, .q8_1: return 4
        case .q5_0: return 6
        case .q5_1: return 8
        default: preconditionFailure("Legacy32: \(type) is not a 32-element legacy type")
        }
    }

    /// Code of element `e` as the integer the dot product multiplies: signed for Q4_0/Q5_0/Q8_0/Q8_1,
    /// unsigned (offset by the block min) for Q4_1/Q5_1.
    @inline(__always)
    static func code(_ type: GGMLTypeID, _ block: UnsafeRawPointer, _ e: Int) -> Int32 {
        switch type {
        case .q8_0: return Int32(block.load(fromByteOffset: 2 + e, as: Int8.self))
        case .q8_1: return Int32(block.load(fromByteOffset: 4 + e, as: Int8.self))
        default: break
        }
        let qs = qsOffset(type)
        let byte = block.load(fromByteOffset: qs + (e & 15), as: UInt8.self)
        var q = Int32(e < 16 ? byte & 0x0F : byte >> 4)
        if type == .q5_0 || type == .q5_1 {
            let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: type == .q5_0 ? 2 : 4, as: UInt32.self))
            q |= Int32((qh >> UInt32(e)) & 1) << 4
        }
        switch type {
        case .q4_0: return q - 8
        case .q5_0: return q - 16
        default: return q
        }
    }

    static func dequantize(_ type: GGMLTypeID, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int, blockBytes: Int) {
        let hasMin = type == .q4_1 || type == .q5_1
        for b in 0..<blocks {
            let block = src + b * blockBytes
            let out = dst + b * blockSize
            let d = loadHalf(block, 0)
            if hasMin {
                let m = loadHalf(block, 2)
                for e in 0..<blockSize { out[e] = d * Float(code(type, block, e)) + m }
            } else {
                for e in 0..<blockSize { out[e] = Float(code(type, block, e)) * d }
            }
        }
    }

    // MARK: - Reference quantizers (ggml quantize_row_*_ref, gguf-py quantize_blocks)

    static func quantize(_ type: GGMLTypeID, _ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, blocks: Int, blockBytes: Int) {
        for b in 0..<blocks {
            let x = src + b * blockSize
            let block = dst + b * blockBytes
            switch type {
            case .q4_0: quantizeSymmetric(x, block, levels: 16, qsOffset: 2, qhOffset: nil)
            case .q5_0: quantizeSymmetric(x, block, levels: 32, qsOffset: 6, qhOffset: 2)
            case .q4_1: quantizeMinMax(x, block, levels: 16, qsOffset: 4, qhOffset: nil)
            case .q5_1: quantizeMinMax(x, block, levels: 32, qsOffset: 8, qhOffset: 4)
            case .q8_0, .q8_1: quantizeQ8(x, block, withSum: type == .q8_1)
            default: preconditionFailure("Legacy32.quantize: \(type) is not a 32-element legacy type")
            }
        }
    }

    /// Q4_0/Q5_0: the value with the largest magnitude maps to the most negative code.
    private static func quantizeSymmetric(
        _ x: UnsafePointer<Float>, _ block: UnsafeMutableRawPointer,
        levels: Int, qsOffset: Int, qhOffset: Int?
    ) {
        var amax: Float = 0
        var max: Float = 0
        for e in 0..<blockSize where amax < abs(x[e]) { amax = abs(x[e]); max = x[e] }
        let half = Float(levels / 2)
        let d = max / -half
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, block, 0)
        let bias = half + 0.5
        pack(block, qsOffset: qsOffset, qhOffset: qhOffset) { e in truncatedCode(x[e] * id + bias, max: levels - 1) }
    }

    /// Q4_1/Q5_1: the block's [min, max] is spread over all codes.
    private static func quantizeMinMax(
        _ x: UnsafePointer<Float>, _ block: UnsafeMutableRawPointer,
        levels: Int, qsOffset: Int, qhOffset: Int?
    ) {
        var lo = Float.greatestFiniteMagnitude
        var hi = -Float.greatestFiniteMagnitude
        for e in 0..<blockSize { lo = min(lo, x[e]); hi = Swift.max(hi, x[e]) }
        let d = (hi - lo) / Float(levels - 1)
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, block, 0)
        storeHalf(lo, block, 2)
        pack(block, qsOffset: qsOffset, qhOffset: qhOffset) { e in truncatedCode((x[e] - lo) * id + 0.5, max: levels - 1) }
    }

    /// C's float -> int truncation followed by ggml's MIN(max, q); inputs here are >= 0 except for NaN.
    @inline(__always) private static func truncatedCode(_ v: Float, max: Int) -> UInt8 {
        guard v > 0 else { return 0 }
        return v >= Float(max) ? UInt8(max) : UInt8(v)
    }

    @inline(__always)
    private static func pack(_ block: UnsafeMutableRawPointer, qsOffset: Int, qhOffset: Int?, _ code: (Int) -> UInt8) {
        var qh: UInt32 = 0
        for j in 0..<16 {
            let lo = code(j), hi = code(j + 16)
            block.storeBytes(of: (lo & 0x0F) | (hi << 4), toByteOffset: qsOffset + j, as: UInt8.self)
            qh |= UInt32(lo >> 4) << UInt32(j) | UInt32(hi >> 4) << UInt32(j + 16)
        }
        if let qhOffset { block.storeBytes(of: qh.littleEndian, toByteOffset: qhOffset, as: UInt32.self) }
    }

    /// Q8_0 / Q8_1 reference: d = amax/127, codes rounded half away from zero (C roundf).
    /// Q8_1 also stores s = fp16(d * sum(q)) with the unrounded d, which the Q4_1/Q5_1 dots use for the min term.
    static func quantizeQ8(_ x: UnsafePointer<Float>, _ block: UnsafeMutableRawPointer, withSum: Bool) {
        var amax: Float = 0
        for e in 0..<blockSize { amax = Swift.max(amax, abs(x[e])) }
        let d = amax / 127
        let id: Float = d != 0 ? 1 / d : 0
        storeHalf(d, block, 0)
        let qs = withSum ? 4 : 2
        var sum: Int32 = 0
        for e in 0..<blockSize {
            let v = (x[e] * id).rounded()
            let q = Int8(v > 127 ? 127 : (v < -127 ? -127 : (v.isNaN ? 0 : v)))
            sum &+= Int32(q)
            block.storeBytes(of: q, toByteOffset: qs + e, as: Int8.self)
        }
        if withSum { storeHalf(d * Float(sum), block, 2) }
    }
}
