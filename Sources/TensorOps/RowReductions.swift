/// Reductions over one row of a contiguous tensor, written with SIMD accumulators: the compiler may
/// not reorder a floating-point sum by itself, so a plain loop would run one element at a time.
/// Two 8-lane accumulators keep two vector additions in flight.
enum RowReduction {
    @inline(__always)
    static func load<T: TensorScalar>(_ p: UnsafePointer<T>, _ index: Int) -> SIMD8<T> {
        UnsafeRawPointer(p + index).loadUnaligned(as: SIMD8<T>.self)
    }

    @inline(__always)
    static func store<T: TensorScalar>(_ value: SIMD8<T>, _ p: UnsafeMutablePointer<T>, _ index: Int) {
        UnsafeMutableRawPointer(p + index).storeBytes(of: value, as: SIMD8<T>.self)
    }

    /// Σ p[i].
    @inline(__always)
    static func sum<T: TensorScalar>(_ p: UnsafePointer<T>, count: Int) -> T {
        var (a, b) = (SIMD8<T>(), SIMD8<T>())
        var i = 0
        while i + 16 <= count {
            a += load(p, i)
            b += load(p, i + 8)
            i += 16
        }
        var total = (a + b).sum()
        while i < count {
            total += p[i]
            i += 1
        }
        return total
    }

    /// Σ p[i]·q[i].
    @inline(__always)
    static func dot<T: TensorScalar>(_ p: UnsafePointer<T>, _ q: UnsafePointer<T>, count: Int) -> T {
        var (a, b) = (SIMD8<T>(), SIMD8<T>())
        var i = 0
        while i + 16 <= count {
            a.addProduct(load(p, i), load(q, i))
            b.addProduct(load(p, i + 8), load(q, i + 8))
            i += 16
        }
        var total = (a + b).sum()
        while i < count {
            total += p[i] * q[i]
            i += 1
        }
        return total
    }

    /// Σ p[i]·q[i]·r[i].
    @inline(__always)
    static func dot<T: TensorScalar>(_ p: UnsafePointer<T>, _ q: UnsafePointer<T>, _ r: UnsafePointer<T>, count: Int) -> T {
        var (a, b) = (SIMD8<T>(), SIMD8<T>())
        var i = 0
        while i + 16 <= count {
            a.addProduct(load(p, i) * load(q, i), load(r, i))
            b.addProduct(load(p, i + 8) * load(q, i + 8), load(r, i + 8))
            i += 16
        }
        var total = (a + b).sum()
        while i < count {
            total += p[i] * q[i] * r[i]
            i += 1
        }
        return total
    }

    /// Σ p[i]·(q[i] − center).
    @inline(__always)
    static func centeredDot<T: TensorScalar>(_ p: UnsafePointer<T>, _ q: UnsafePointer<T>, center: T, count: Int) -> T {
        var (a, b) = (SIMD8<T>(), SIMD8<T>())
        let c = SIMD8<T>(repeating: center)
        var i = 0
        while i + 16 <= count {
            a.addProduct(load(p, i), load(q, i) - c)
            b.addProduct(load(p, i + 8), load(q, i + 8) - c)
            i += 16
        }
        var total = (a + b).sum()
        while i < count {
            total += p[i] * (q[i] - center)
            i += 1
        }
        return total
    }

    /// Σ (p[i] − center)².
    @inline(__always)
    static func squaredDeviation<T: TensorScalar>(_ p: UnsafePointer<T>, from center: T, count: Int) -> T {
        var (a, b) = (SIMD8<T>(), SIMD8<T>())
        let c = SIMD8<T>(repeating: center)
        var i = 0
        while i + 16 <= count {
            let (u, v) = (load(p, i) - c, load(p, i + 8) - c)
            a.addProduct(u, u)
            b.addProduct(v, v)
            i += 16
        }
        var total = (a + b).sum()
        while i < count {
            let u = p[i] - center
            total += u * u
            i += 1
        }
        return total
    }

    /// max p[i] (−∞ for an empty row). Generic SIMD comparisons (`pointwiseMax`, `replacing(with:where:)`)
    /// compile to per-lane code: 1.5 ms of the 1.6 ms cross-entropy forward at [768, 256] on one thread.
    @inline(__always)
    static func maximum<T: TensorScalar>(_ p: UnsafePointer<T>, count: Int) -> T {
        count == 0 ? -T.infinity : VectorExponential.maximum(p, count: count)
    }
}

/// Element-wise maps over rows, eight lanes at a time: the compiler does not vectorise a loop whose
/// input and output pointers may alias.
enum RowMap {
    /// out[i] = x[i]·a + b.
    @inline(__always)
    static func affine<T: TensorScalar>(_ x: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, scale a: T, shift b: T, count: Int) {
        let (va, vb) = (SIMD8<T>(repeating: a), SIMD8<T>(repeating: b))
        var i = 0
        while i + 8 <= count {
            RowReduction.store(RowReduction.load(x, i) * va + vb, out, i)
            i += 8
        }
        while i < count {
            out[i] = x[i] * a + b
            i += 1
        }
    }

    /// out[i] = x[i] for short rows (image lines of 8–32 values), where a memmove call costs more
    /// than the copy and a plain loop stays scalar (the pointers may alias).
    @inline(__always)
    static func copy<T: TensorScalar>(_ x: UnsafePointer<T>, into out: UnsafeMutablePointer<T>, count: Int) {
        var i = 0
        while i + 8 <= count {
            RowReduction.store(RowReduction.load(x, i), out, i)
            i += 8
        }
        while i < count {
            out[i] = x[i]
            i += 1
        }
    }

    /// out[i] = g[i]·f + (x[i] − center)·a + b: batch normalisation's input gradient,
    /// f·(g − mean(g) − x̂·mean(g·x̂)) with x̂ = (x − center)·inverse, one multiply-add per operand.
    /// x stays centred before scaling: x·a − center·a would cancel where |mean| ≫ std.
    @inline(__always)
    static func combine<T: TensorScalar>(
        _ g: UnsafePointer<T>, times f: T, _ x: UnsafePointer<T>, minus center: T, times a: T, plus b: T,
        into out: UnsafeMutablePointer<T>, count: Int
    ) {
        let (vf, vc, va, vb) = (SIMD8<T>(repeating: f), SIMD8<T>(repeating: center), SIMD8<T>(repeating: a), SIMD8<T>(repeating: b))
        var i = 0
        while i + 8 <= count {
            RowReduction.store(RowReduction.load(g, i) * vf + ((RowReduction.load(x, i) - vc) * va + vb), out, i)
            i += 8
        }
        while i < count {
            out[i] = g[i] * f + ((x[i] - center) * a + b)
            i += 1
        }
    }
}
