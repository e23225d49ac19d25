// Scalar kernels: the fallback off x86-64 and a second implementation the tests hold the AVX2 one to.
// Integer products are summed exactly in Int32 per block, as ggml's generic kernels do; only the
// per-block scaling is floating point.

enum PortableKernels {
    static func matmul(_ raw: UInt32, _ job: MatmulJob) {
        switch raw {
        case 0, 1, 30: floatMatmul(raw, job)
        case 2, 3, 6, 7, 8: legacyMatmul(raw, job)
        default: kQuantMatmul(raw, job)
        }
    }

    private static func floatMatmul(_ raw: UInt32, _ job: MatmulJob) {
        for r in job.rows {
            let w = job.weightRow(r)
            for b in 0..<job.batch {
                let x = job.activationRow(b)
                var sum: Float = 0
                for i in 0..<job.columns {
                    let wi: Float
                    switch raw {
                    case 0: wi = loadFloat(w, 4 * i)
                    case 1: wi = halfToFloat(UInt16(littleEndian: w.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    default: wi = bf16ToFloat(UInt16(littleEndian: w.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    }
                    sum += wi * loadFloat(x, 4 * i)
                }
                job.store(sum, row: r, batch: b)
            }
        }
    }

    private static func legacyMatmul(_ raw: UInt32, _ job: MatmulJob) {
        let blocks = job.columns / Legacy32.blockSize
        let wBytes = raw == 2 ? 18 : raw == 3 ? 20 : raw == 6 ? 22 : raw == 7 ? 24 : 34
        let hasMin = raw == 3 || raw == 7
        let aBytes = hasMin ? 36 : 34
        let aQs = hasMin ? 4 : 2
        for r in job.rows {
            let w = job.weightRow(r)
            for b in 0..<job.batch {
                let a = job.activationRow(b)
                var sum: Float = 0
                for i in 0..<blocks {
                    let wb = w + i * wBytes, ab = a + i * aBytes
                    var isum: Int32 = 0
                    for e in 0..<32 { isum &+= Legacy32.code(raw, wb, e) &* Int32(ab.load(fromByteOffset: aQs + e, as: Int8.self)) }
                    sum += (loadHalf(wb, 0) * loadHalf(ab, 0)) * Float(isum)
                    if hasMin { sum += loadHalf(wb, 2) * loadHalf(ab, 2) }
                }
                job.store(sum, row: r, batch: b)
            }
        }
    }

    private static func kQuantMatmul(_ raw: UInt32, _ job: MatmulJob) {
        let blocks = job.columns / KQuant.blockSize
        let wBytes = [10: 84, 11: 110, 12: 144, 13: 176, 14: 210][raw]!
        withUnsafeTemporaryAllocation(of: Int16.self, capacity: 32) { buf in
            let scale = buf.baseAddress!, corr = scale + 16
            for r in job.rows {
                let w = job.weightRow(r)
                for b in 0..<job.batch {
                    let a = job.activationRow(b)
                    var sum: Float = 0
                    for i in 0..<blocks {
                        let wb = w + i * wBytes, ab = a + i * 292
                        let f = KQuant.scales(raw, wb, scale: scale, corr: corr)
                        var isum: Int32 = 0, csum: Int32 = 0
                        for j in 0..<16 {
                            var s: Int32 = 0
                            for e in 16 * j..<16 * j + 16 {
                                s &+= Int32(KQuant.code(raw, wb, e)) &* Int32(ab.load(fromByteOffset: 4 + e, as: Int8.self))
                            }
                            isum &+= s &* Int32(scale[j])
                            csum &+= Int32(corr[j]) &* Int32(Int16(littleEndian: ab.loadUnaligned(fromByteOffset: 260 + 2 * j, as: Int16.self)))
                        }
                        let da = loadFloat(ab, 0)
                        sum += (da * f.dw) * Float(isum) - (da * f.dcorr) * Float(csum)
                    }
                    job.store(sum, row: r, batch: b)
                }
            }
        }
    }
}
