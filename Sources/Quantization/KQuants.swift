// K-quants: 256-element super-blocks with per-sub-block scales (Q2_K..Q6_K) and the Q8_K activation format.
//
// For dot products every K-quant is rewritten into one shape so a single kernel serves all five:
//   value_e = dw * scale_j * code_e - dcorr * corr_j      (j = e / 16, code_e unsigned, 0...63)
// Q2_K/Q4_K/Q5_K have a real min (corr = min, dcorr = dmin); Q3_K/Q6_K are signed, and the signed
// code (code - offset) is split into code * scale - offset * scale, so corr = offset * scale and
// dcorr = d. Against Q8_K activations the corr term only needs the activation's 16-element sums (bsums).

import GGUF

enum KQuant {
    static let blockSize = 256

    /// The unified per-super-block form used by the dot kernels.
    struct Decoded {
        var dw: Float
        var dcorr: Float
    }

    /// 6-bit scale and min of sub-block j (0..<8) of a Q4_K/Q5_K super-block, from the 12 packed bytes.
    @inline(__always)
    static func scaleMinK4(_ j: Int, _ s: UnsafeRawPointer) -> (sc: UInt8, m: UInt8) {
        func b(_ i: Int) -> UInt8 { s.load(fromByteOffset: i, as: UInt8.self) }
        if j < 4 { return (b(j) & 63, b(j + 4) & 63) }
        return ((b(j + 4) & 0x0F) | ((b(j - 4) >> 6) << 4), (b(j + 4) >> 4) | ((b(j) >> 6) << 4))
    }

    /// Signed 6-bit scale k (0..<16) of a Q3_K super-block.
    @inline(__always)
    static func scaleQ3(_ k: Int, _ s: UnsafeRawPointer) -> Int16 {
        let low = k < 8 ? s.load(fromByteOffset: k, as: UInt8.self) & 0x0F : s.load(fromByteOffset: k - 8, as: UInt8.self) >> 4
        let high = (s.load(fromByteOffset: 8 + k % 4, as: UInt8.self) >> UInt8(2 * (k / 4))) & 3
        return Int16(low | high << 4) - 32
    }

    /// Unsigned code of element e (see the file comment for its meaning per type).
    @inline(__always)
    static func code(_ type: GGMLTypeID, _ b: UnsafeRawPointer, _ e: Int) -> UInt8 {
        func byte(_ i: Int) -> UInt8 { b.load(fromByteOffset: i, as: UInt8.self) }
        let l = e % 32, s = e / 32
        switch type {
        case .q2_K:
            return (byte(16 + 32 * (e / 128) + l) >> UInt8(2 * ((e % 128) / 32))) & 3
        case .q3_K:  // low 2 bits plus hmask bit as bit 2 (a set bit means "no -4 offset")
            let q2 = (byte(32 + 32 * (e / 128) + l) >> UInt8(2 * ((e % 128) / 32))) & 3
            return q2 | ((byte(l) >> UInt8(s)) & 1) << 2
        case .q4_K:
            let q = byte(16 + 32 * (s / 2) + l)
            return s & 1 == 0 ? q & 0x0F : q >> 4
        case .q5_K:
            let q = byte(48 + 32 * (s / 2) + l)
            return (s & 1 == 0 ? q & 0x0F : q >> 4) | ((byte(16 + l) >> UInt8(s)) & 1) << 4
        case .q6_K:
            let h = e / 128, g = (e % 128) / 32
            let lo = byte(64 * h + 32 * (g & 1) + l)
            let hi = (byte(128 + 32 * h + l) >> UInt8(2 * g)) & 3
            return (g < 2 ? lo & 0x0F : lo >> 4) | hi << 4
        default: preconditionFailure("KQuant.code: \(type) is not a K-quant")
        }
    }

    /// Fills the 16 per-16-element scales and corrections and returns (dw, dcorr).
    @inline(__always)
    static func scales(_ type: GGMLTypeID, _ b: UnsafeRawPointer, scale: UnsafeMutablePointer<Int16>, corr: UnsafeMutablePointer<Int16>)
        -> Decoded
    {
        switch type {
        case .q2_K:
            for j in 0..<16 {
                let sc = b.load(fromByteOffset: j, as: UInt8.self)
                scale[j] = Int16(sc & 0x0F); corr[j] = Int16(sc >> 4)
            }
            return Decoded(dw: loadHalf(b, 80), dcorr: loadHalf(b, 82))
        case .q3_K:
            for j in 0..<16 { let s = scaleQ3(j, b + 96); scale[j] = s; corr[j] = 4 * s }
            let d = loadHalf(b, 108)
            return Decoded(dw: d, dcorr: d)
        case .q4_K, .q5_K:
            for s in 0..<8 {
                let (sc, m) = scaleMinK4(s, b + 4)
                scale[2 * s] = Int16(sc); scale[2 * s + 1] = Int16(sc)
                corr[2 * s] = Int16(m); corr[2 * s + 1] = Int16(m)
            }
            return Decoded(dw: loadHalf(b, 0), dcorr: loadHalf(b, 2))
        case .q6_K:
            for j in 0..<16 { let s = Int16(b.load(fromByteOffset: 192 + j, as: Int8.self)); scale[j] = s; corr[j] = 32 * s }
            let d = loadHalf(b, 208)
            return Decoded(dw: d, dcorr: d)
        default: preconditionFailure("KQuant.scales: \(type) is not a K-quant")
        }
    }

    /// Code offset of the signed types (their value is scale * (code - offset)).
    @inline(__always) static func signedOffset(_ type: GGMLTypeID) -> Int32? {
        type == .q3_K ? 4 : (type == .q6_K ? 32 : nil)
    }

    static func dequantize(_ type: GGMLTypeID, _ src: UnsafeRawPointer, _ dst: UnsafeMutablePointer<Float>, blocks: Int, blockBytes: Int) {
        if type == .q8_K {
            for b in 0..<blocks {
                let block = src + b * blockBytes
                let d = loadFloat(block, 0)
                for e in 0..<blockSize { dst[b * blockSize + e] = d * Float(block.load(fromByteOffset: 4 + e, as: Int8.self)) }
            }
            return
        }
        var scale = (
            Int16(0), Int16(0), Int16(0), Int16(0), Int16(0), Int16(0), Int16(0), Int16(0),
            Int16(0), Int16(0), Int16(0), Int16(0), Int16(0), Int16(0), Int16(0), Int16(0)
        )
        var corr = scale
        let offset = signedOffset(type)
        withUnsafeMutableBytes(of: &scale) { sbuf in
            withUnsafeMutableBytes(of: &corr) { cbuf in
                let sc = sbuf.baseAddress!.assumingMemoryBound(to: Int16.self)
                let co = cbuf.baseAddress!.assumingMemoryBound(to: Int16.self)
                for b in 0..<blocks {
                    let block = src + b * blockBytes
                    let out = dst + b * blockSize
                    let f = scales(type, block, scale: sc, corr: co)
                    for j in 0..<16 {
                        let dl = f.dw * Float(sc[j])
                        if let offset {
                            for e in 16 * j..<16 * j + 16 { out[e] = dl * Float(Int32(code(type, block, e)) - offset) }
                        } else {
                            let ml = f.dcorr * Float(co[j])
                            for e in 16 * j..<16 * j + 16 { out[e] = dl * Float(code(type, block, e)) - ml }
                        }
                    }
                }
            }
        }
    }
}
