// Simple K-quant quantizers: max-abs (signed types) or min-max (types with a min) per sub-block,
// then the sub-block scales are themselves quantized against the super-block scale.
// Scales are rounded *up* (fp16 and the integer sub-scales) so the stored grid always covers the
// sub-block, which keeps the round-trip error near half a step instead of a clamped full range.
// ggml's importance-weighted search (make_qkx*_quants) gives lower error but is not needed here.

import GGUF

extension KQuant {
    struct Layout {
        let subBlocks: Int  // 16 or 8
        let scaleMax: Int  // largest stored sub-scale
        let codeMax: Int  // largest unsigned code
    }

    static func quantize(_ type: GGMLTypeID, _ src: UnsafePointer<Float>, _ dst: UnsafeMutableRawPointer, blocks: Int, blockBytes: Int) {
        for b in 0..<blocks {
            let x = src + b * blockSize
            let block = dst + b * blockBytes
            for i in 0..<blockBytes { block.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
            switch type {
            case .q2_K: quantizeMinMax(x, block, type, Layout(subBlocks: 16, scaleMax: 15, codeMax: 3))
            case .q3_K: quantizeSigned(x, block, type, subScaleMax: 31, offset: 4)
            case .q4_K: quantizeMinMax(x, block, type, Layout(subBlocks: 8, scaleMax: 63, codeMax: 15))
            case .q5_K: quantizeMinMax(x, block, type, Layout(subBlocks: 8, scaleMax: 63, codeMax: 31))
            case .q6_K: quantizeSigned(x, block, type, subScaleMax: 127, offset: 32)
            case .q8_K: quantizeQ8K(x, block)
            default: preconditionFailure("KQuant.quantize: \(type) is not a K-quant")
            }
        }
    }

    /// Q2_K, Q4_K, Q5_K: value = S_j * code - M_j with S_j = d * sc_j, M_j = dmin * m_j.
    private static func quantizeMinMax(_ x: UnsafePointer<Float>, _ block: UnsafeMutableRawPointer, _ type: GGMLTypeID, _ L: Layout) {
        let size = blockSize / L.subBlocks
        var offs = [Float](repeating: 0, count: L.subBlocks)
        var hi = [Float](repeating: 0, count: L.subBlocks)
        for j in 0..<L.subBlocks {
            var lo: Float = 0, h = -Float.greatestFiniteMagnitude
            for e in j * size..<(j + 1) * size { lo = min(lo, x[e]); h = max(h, x[e]) }
            offs[j] = -lo; hi[j] = h
        }
        let dmin = halfRoundedUp(offs.max()! / Float(L.scaleMax))
        var m = [Int](repeating: 0, count: L.subBlocks)
        var step = [Float](repeating: 0, count: L.subBlocks)
        for j in 0..<L.subBlocks {
            m[j] = dmin > 0 ? min(L.scaleMax, Int((offs[j] / dmin).rounded(.up))) : 0
            step[j] = max(0, (hi[j] + dmin * Float(m[j])) / Float(L.codeMax))
        }
        let d = halfRoundedUp(step.max()! / Float(L.scaleMax))
        var sc = [Int](repeating: 0, count: L.subBlocks)
        var codes = [UInt8](repeating: 0, count: blockSize)
        for j in 0..<L.subBlocks {
            sc[j] = d > 0 ? min(L.scaleMax, Int((step[j] / d).rounded(.up))) : 0
            let s = d * Float(sc[j]), mm = dmin * Float(m[j])
            for e in j * size..<(j + 1) * size {
                let q = s > 0 ? ((x[e] + mm) / s).rounded() : 0
                codes[e] = UInt8(q.isNaN ? 0 : min(Float(L.codeMax), max(0, q)))
            }
        }
        func put(_ v: UInt8, _ i: Int) { block.storeBytes(of: v, toByteOffset: i, as: UInt8.self) }
        func or(_ v: UInt8, _ i: Int) { put(block.load(fromByteOffset: i, as: UInt8.self) | v, i) }
        switch type {
        case .q2_K:
            for j in 0..<16 { put(UInt8(sc[j]) | UInt8(m[j]) << 4, j) }
            for e in 0..<blockSize { or(codes[e] << UInt8(2 * ((e % 128) / 32)), 16 + 32 * (e / 128) + e % 32) }
            storeHalf(d, block, 80); storeHalf(dmin, block, 82)
        case .q4_K, .q5_K:
            storeHalf(d, block, 0); storeHalf(dmin, block, 2)
            for j in 0..<4 {
                put(UInt8(sc[j]) | UInt8(sc[j + 4] >> 4) << 6, 4 + j)
                put(UInt8(m[j]) | UInt8(m[j + 4] >> 4) << 6, 4 + j + 4)
                put(UInt8(sc[j + 4] & 0x0F) | UInt8(m[j + 4] & 0x0F) << 4, 4 + j + 8)
            }
            let qs = type == .q4_K ? 16 : 48
            for e in 0..<blockSize {
                let s = e / 32, l = e % 32
                or((codes[e] & 0x0F) << (s & 1 == 0 ? 0 : 4), qs + 32 * (s / 2) + l)
                if type == .q5_K { or(((codes[e] >> 4) & 1) << UInt8(s), 16 + l) }
            }
        default: preconditionFailure("KQuant.quantizeMinMax: \(type) has no min")
        }
    }

    /// Q3_K, Q6_K: value = S_j * (code - offset); the signed extreme of each sub-block maps to -offset.
    private static func quantizeSigned(
        _ x: UnsafePointer<Float>, _ block: UnsafeMutableRawPointer, _ type: GGMLTypeID,
        subScaleMax: Int, offset: Int
    ) {
        var ideal = [Float](repeating: 0, count: 16)
        for j in 0..<16 {
            var amax: Float = 0, mx: Float = 0
            for e in 16 * j..<16 * j + 16 where abs(x[e]) > amax { amax = abs(x[e]); mx = x[e] }
            ideal[j] = mx / -Float(offset)
        }
        let d = halfRoundedUp(ideal.map(abs).max()! / Float(subScaleMax))
        var sc = [Int](repeating: 0, count: 16)
        var codes = [UInt8](repeating: 0, count: blockSize)
        for j in 0..<16 {
            sc[j] = d > 0 ? max(-subScaleMax, min(subScaleMax, Int((ideal[j] / d).rounded()))) : 0
            let s = d * Float(sc[j])
            for e in 16 * j..<16 * j + 16 {
                let q = s != 0 ? (x[e] / s).rounded() : 0
                let c = q.isNaN ? 0 : min(Float(offset - 1), max(Float(-offset), q))
                codes[e] = UInt8(Int(c) + offset)
            }
        }
        func put(_ v: UInt8, _ i: Int) { block.storeBytes(of: v, toByteOffset: i, as: UInt8.self) }
        func or(_ v: UInt8, _ i: Int) { put(block.load(fromByteOffset: i, as: UInt8.self) | v, i) }
        if type == .q3_K {
            for k in 0..<16 {
                let v = UInt8(sc[k] + 32)
                if k < 8 { or(v & 0x0F, 96 + k) } else { or((v & 0x0F) << 4, 96 + k - 8) }
                or((v >> 4) << UInt8(2 * (k / 4)), 96 + 8 + k % 4)
            }
            for e in 0..<blockSize {
                let l = e % 32
                or((codes[e] & 3) << UInt8(2 * ((e % 128) / 32)), 32 + 32 * (e / 128) + l)
                or((codes[e] >> 2) << UInt8(e / 32), l)
            }
            storeHalf(d, block, 108)
        } else {
            for e in 0..<blockSize {
                let h = e / 128, g = (e % 128) / 32, l = e % 32
                or((codes[e] & 0x0F) << (g < 2 ? 0 : 4), 64 * h + 32 * (g & 1) + l)
                or((codes[e] >> 4) << UInt8(2 * g), 128 + 32 * h + l)
            }
            for j in 0..<16 { block.storeBytes(of: Int8(sc[j]), toByteOffset: 192 + j, as: Int8.self) }
            storeHalf(d, block, 208)
        }
    }

    /// ggml's quantize_row_q8_K_ref: d is f32 and negative for a positive extreme, codes round half to even.
    static func quantizeQ8K(_ x: UnsafePointer<Float>, _ block: UnsafeMutableRawPointer) {
        var amax: Float = 0, mx: Float = 0
        for e in 0..<blockSize where abs(x[e]) > amax { amax = abs(x[e]); mx = x[e] }
        if amax == 0 {
            for i in 0..<292 { block.storeBytes(of: 0, toByteOffset: i, as: UInt8.self) }
            return
        }
        let iscale = -127 / mx
        for j in 0..<16 {
            var sum: Int16 = 0
            for e in 16 * j..<16 * j + 16 {
                let v = (iscale * x[e]).rounded(.toNearestOrEven)
                let q = Int8(v.isNaN ? 0 : min(127, max(-127, v)))
                sum &+= Int16(q)
                block.storeBytes(of: q, toByteOffset: 4 + e, as: Int8.self)
            }
            block.storeBytes(of: sum.littleEndian, toByteOffset: 260 + 2 * j, as: Int16.self)
        }
        block.storeBytes(of: (1 / iscale).bitPattern.littleEndian, toByteOffset: 0, as: UInt32.self)
    }
}
