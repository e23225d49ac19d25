// Scalar kernels: the fallback off x86-64 and a second implementation the tests hold the AVX2 one to.
// Integer products are summed exactly in Int32 per block, as ggml's generic kernels do; only the
// per-block scaling is floating point.

import GGUF

enum PortableKernels {
    static func matmul(_ type: GGMLType, _ job: MatmulJob) {
        switch type.id {
        case .f32, .f16, .bf16: floatMatmul(type.id, job)
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: legacyMatmul(type.id, blockBytes: type.typeSize, job)
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: kQuantMatmul(type.id, blockBytes: type.typeSize, job)
        default: preconditionFailure("portable matmul: no kernel for \(type.name)")
        }
    }

    private static func floatMatmul(_ type: GGMLTypeID, _ job: MatmulJob) {
        for r in job.rows {
            let w = job.weightRow(r)
            for b in 0..<job.batch {
                let x = job.activationRow(b)
                var sum: Float = 0
                for i in 0..<job.columns {
                    let wi: Float
                    switch type {
                    case .f32: wi = loadFloat(w, 4 * i)
                    case .f16: wi = halfToFloat(UInt16(littleEndian: w.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    case .bf16: wi = bf16ToFloat(UInt16(littleEndian: w.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    default: preconditionFailure("portable float matmul: \(type) is not a float type")
                    }
                    sum += wi * loadFloat(x, 4 * i)
                }
                job.store(sum, row: r, batch: b)
            }
        }
    }

    private static func legacyMatmul(_ type: GGMLTypeID, blockBytes wBytes: Int, _ job: MatmulJob) {
        let blocks = job.columns / Legacy32.blockSize
        let hasMin = type == .q4_1 || type == .q5_1
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
                    for e in 0..<32 { isum &+= Legacy32.code(type, wb, e) &* Int32(ab.load(fromByteOffset: aQs + e, as: Int8.self)) }
                    sum += (loadHalf(wb, 0) * loadHalf(ab, 0)) * Float(isum)
                    if hasMin { sum += loadHalf(wb, 2) * loadHalf(ab, 2) }
                }
                job.store(sum, row: r, batch: b)
            }
        }
    }

    private static func kQuantMatmul(_ type: GGMLTypeID, blockBytes wBytes: Int, _ job: MatmulJob) {
        let blocks = job.columns / KQuant.blockSize
        withUnsafeTemporaryAllocation(of: Int16.self, capacity: 32) { buf in
            let scale = buf.baseAddress!, corr = scale + 16
            for r in job.rows {
                let w = job.weightRow(r)
                for b in 0..<job.batch {
                    let a = job.activationRow(b)
                    var sum: Float = 0
                    for i in 0..<blocks {
                        let wb = w + i * wBytes, ab = a + i * 292
                        let f = KQuant.scales(type, wb, scale: scale, corr: corr)
                        var isum: Int32 = 0, csum: Int32 = 0
                        for j in 0..<16 {
                            var s: Int32 = 0
                            for e in 16 * j..<16 * j + 16 {
                                s &+= Int32(KQuant.code(type, wb, e)) &* Int32(ab.load(fromByteOffset: 4 + e, as: Int8.self))
                            }
                            isum &+= s &* Int32(scale[j])
                            csum &+=
                                Int32(corr[j]) &* Int32(Int16(littleEndian: ab.loadUnaligned(fromByteOffset: 260 + 2 * j, as: Int16.self)))
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
