import GGUF
import Quantization
import Tensors
import Threading

#if canImport(Glibc)
import Glibc
#endif

/// Runs every operation on the CPU: weights stay in the memory-mapped file and are multiplied
/// in their quantized form (activations quantized to 8-bit blocks, integer dot products).
public final class CPUBackend: ComputeBackend, @unchecked Sendable {
    // @unchecked: scratch memory is reused between calls; a backend instance serves one
    // model session at a time (the callers own that discipline, as with any stream).
    public let pool: ThreadPool
    public var name: String { "CPU (\(pool.threadCount) thread\(pool.threadCount == 1 ? "" : "s"))" }

    private var activationScratch = DeviceBuffer.host(byteCount: 0)
    var workerScratch: [DeviceBuffer] = []
    private var workerScratchFloats = 0

    /// Whether `makeWeight` repacks Q4_0/Q4_1/Q5_0 and Q8_0 matrices into interleaved layouts
    /// (the fast path on x86-64); false keeps every weight in the mapped file, row-major.
    public let repacksWeights: Bool

    public init(threads: Int, repacksWeights: Bool = true) {
        pool = ThreadPool(threads: threads)
        self.repacksWeights = repacksWeights
    }

    /// A backend on an existing pool (training's, so the two never spin on the same cores at once).
    public init(pool: ThreadPool, repacksWeights: Bool = true) {
        self.pool = pool
        self.repacksWeights = repacksWeights
    }

    /// Threads to use by default: the physical parallelism the OS reports.
    public static var defaultThreadCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    public func makeWeight(name: String, type: GGMLType, dimensions: [Int64], bytes: UnsafeRawBufferPointer, owner: AnyObject) throws
        -> Weight
    {
        try Quantization.checkSupported(type)
        let columns = Int(dimensions[0])
        let rows = dimensions.dropFirst().reduce(1) { $0 * Int($1) }
        let rowBytes = bytes.count / max(rows, 1)
        let layout = WeightLayout.preferred(for: type)
        if repacksWeights, layout != .rowMajor, rows % layout.rowsPerGroup == 0, rows > 0 {
            let buffer = Self.repack(type, bytes, into: layout, rows: rows, rowBytes: rowBytes)
            return Weight(
                name: name, type: type, rows: rows, columns: columns, rowBytes: rowBytes,
                data: UnsafeRawPointer(buffer.address), owner: buffer, layout: layout)
        }
        if repacksWeights, bytes.count > 0 {
            // Every weight gets its own copy, so the file mapping can be released after loading:
            // reading a row-major tensor straight from the mapping made the kernel map whole
            // page-cache folios around it — megabytes of neighbouring, already repacked tensors —
            // and resident memory then depended on how the file happened to be cached.
            let buffer = Self.copyReleasingSource(bytes)
            return Weight(
                name: name, type: type, rows: rows, columns: columns, rowBytes: rowBytes,
                data: UnsafeRawPointer(buffer.address), owner: buffer)
        }
        return Weight(
            name: name, type: type, rows: rows, columns: columns, rowBytes: rowBytes,
            data: bytes.baseAddress!, owner: owner)
    }

    /// Whether `makeWeight` leaves nothing pointing into the file mapping.
    public var copiesWeights: Bool { repacksWeights }

    /// A plain copy of a weight that keeps its file layout.
    static func copyReleasingSource(_ bytes: UnsafeRawBufferPointer) -> DeviceBuffer {
        fillReleasingSource(bytes, units: bytes.count, unitBytes: 1) { units, address in
            (address + units.lowerBound).copyMemory(from: bytes.baseAddress! + units.lowerBound, byteCount: units.count)
        }
    }

    /// Copies a row-major matrix into the interleaved layout.
    static func repack(_ type: GGMLType, _ bytes: UnsafeRawBufferPointer, into layout: WeightLayout, rows: Int, rowBytes: Int)
        -> DeviceBuffer
    {
        fillReleasingSource(bytes, units: rows / layout.rowsPerGroup, unitBytes: rowBytes * layout.rowsPerGroup) { groups, address in
            layout.repack(type, source: bytes.baseAddress!, rowBytes: rowBytes, groups: groups, into: address)
        }
    }

    /// A new buffer the size of `source`, filled by `fill` a few MiB of source at a time (`units`
    /// of `unitBytes`, in order), telling the kernel after each piece that the file pages read are
    /// no longer needed: the mapped pages leave the resident set, so peak memory stays one piece
    /// above the weights' own size.
    static func fillReleasingSource(
        _ source: UnsafeRawBufferPointer, units: Int, unitBytes: Int,
        _ fill: (Range<Int>, UnsafeMutableRawPointer) -> Void
    ) -> DeviceBuffer {
        let address = UnsafeMutableRawPointer.allocate(byteCount: source.count, alignment: 64)
        let buffer = DeviceBuffer(address: address, byteCount: source.count, release: { $0.deallocate() })
        let piece = max(1, (4 << 20) / unitBytes)
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = Int(bitPattern: source.baseAddress!)
        var released = (start + page - 1) / page * page
        var unit = 0
        while unit < units {
            let end = min(units, unit + piece)
            fill(unit..<end, address)
            let consumed = (start + end * unitBytes) / page * page
            if consumed > released {
                madvise(UnsafeMutableRawPointer(bitPattern: released), consumed - released, Int32(MADV_DONTNEED))
                released = consumed
            }
            unit = end
        }
        return buffer
    }

    public func makeMatrix(rows: Int, columns: Int) -> Matrix {
        Matrix(buffer: .host(byteCount: rows * columns * 4), rows: rows, columns: columns)
    }

    public func makeKVCache(type: KVCacheType, width: Int, contextLength: Int, capacity: [Int]) -> KVCache {
        KVCache(type: type, width: width, contextLength: contextLength, capacity: capacity, allocate: { DeviceBuffer.host(byteCount: $0) })
    }

    public func embed(_ tokens: [Int32], table: Weight, scale: Float, into output: Matrix) {
        for (i, token) in tokens.enumerated() {
            let destination = output.row(i)
            table.layout.dequantizeRow(
                table.type, data: table.data, rowBytes: table.rowBytes, columns: table.columns, row: Int(token), into: destination)
            if scale != 1 { for j in 0..<table.columns { destination[j] *= scale } }
        }
    }

    public func rmsNorm(_ x: Matrix, weight: Weight, epsilon: Float, groups: Int, into output: Matrix) {
        let width = x.columns / groups
        precondition(weight.type == .f32 && weight.columns == width, "RMSNorm weight \(weight.name) must be F32 × \(width)")
        let w = weight.data.assumingMemoryBound(to: Float.self)
        forRows(x.rows * groups, minimumPerThread: 64) { range in
            for item in range {
                let (r, g) = item.quotientAndRemainder(dividingBy: groups)
                CPUKernels.rmsNorm(x.row(r) + g * width, w, output.row(r) + g * width, count: width, epsilon: epsilon)
            }
        }
    }

    public func matmul(_ weight: Weight, _ x: Matrix, into output: Matrix) {
        matmul([weight], x, into: [output])
    }

    /// Several projections of the same input in one dispatch: each activation format is quantized
    /// once (Q, K and V usually share one), and the threads split the 16-row groups of all the
    /// weights together, so a decode step pays one hand-off instead of one per weight.
    public func matmul(_ weights: [Weight], _ x: Matrix, into outputs: [Matrix]) {
        precondition(weights.count == outputs.count, "matmul: \(weights.count) weights but \(outputs.count) outputs")
        var kernels: [DotKernel] = [], offsets: [Int] = [], rowBytes: [Int] = []
        var scratchBytes = 0
        for (weight, output) in zip(weights, outputs) {
            precondition(x.columns == weight.columns && output.columns == weight.rows, "matmul shape mismatch for \(weight.name)")
            let kernel: DotKernel
            do { kernel = try Quantization.dotKernel(for: weight.type, layout: weight.layout) } catch { fatalError("\(error)") }
            let bytes = kernel.activationRowBytes(count: weight.columns)
            if let earlier = kernels.firstIndex(where: { $0.activationFormat == kernel.activationFormat }) {
                offsets.append(offsets[earlier])
            } else {
                offsets.append(scratchBytes)
                scratchBytes += bytes * x.rows
            }
            kernels.append(kernel)
            rowBytes.append(bytes)
        }
        let activations = scratch(&activationScratch, bytes: scratchBytes).address
        // Quantize each shared input once: at the first weight that uses its format.
        for index in kernels.indices where offsets.firstIndex(of: offsets[index]) == index {
            let kernel = kernels[index], base = activations + offsets[index], bytes = rowBytes[index]
            // Split from 4 rows: a server's decode pass quantizes 4–6 rows per projection while the
            // other thread would otherwise wait. One decode row stays on one thread.
            forRows(x.rows, minimumPerThread: 2) { range in
                for b in range { kernel.quantizeActivations(x.row(b), count: x.columns, into: base + b * bytes) }
            }
        }
        let batch = x.rows
        let groupCounts = weights.map { ($0.rows + 15) / 16 }
        let totalGroups = groupCounts.reduce(0, +)
        pool.run { worker, workers in
            // Chunks of whole 16-row groups keep each thread's rows contiguous and tile-friendly.
            // (Claiming small pieces dynamically was tried: no gain in the server, and decode
            // measured no better on this machine — each piece restarts the prefetch stream.)
            let mine = ThreadPool.chunk(totalGroups, worker, workers)
            var first = 0
            for (index, weight) in weights.enumerated() {
                let own = mine.clamped(to: first..<(first + groupCounts[index]))
                first += groupCounts[index]
                guard !own.isEmpty else { continue }
                let local = own.lowerBound - (first - groupCounts[index]), count = own.count
                let rows = (local * 16)..<min((local + count) * 16, weight.rows)
                let input = UnsafeRawPointer(activations + offsets[index]), output = outputs[index]
                kernels[index].matmul(
                    weights: weight.data, weightRowBytes: weight.rowBytes, rows: rows, columns: weight.columns,
                    activations: input, activationRowBytes: rowBytes[index],
                    batch: batch, output: output.floats, outputStride: output.columns)
            }
        }
    }

    public func rope(_ x: Matrix, headDim: Int, firstPosition: Int, parameters: RopeParameters) {
        let heads = x.columns / headDim
        forRows(x.rows, minimumPerThread: 4) { range in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: parameters.dimensions) { cosSin in
                for r in range {
                    CPUKernels.ropeAngles(position: firstPosition + r, parameters: parameters, into: cosSin.baseAddress!)
                    for h in 0..<heads {
                        CPUKernels.rope(
                            x.row(r) + h * headDim, position: firstPosition + r, parameters: parameters, cosSin: cosSin.baseAddress!)
                    }
                }
            }
        }
    }

    public func storeKV(keys: Matrix, values: Matrix, cache: KVCache, layer: Int, firstPosition: Int) {
        precondition(keys.columns == cache.width && values.columns == cache.width, "KV width mismatch")
        let width = cache.width
        let keyCells = cache.keys[layer].address, valueCells = cache.values[layer].address
        // No array of (source, buffer) pairs: built per row, it was a heap allocation and retains
        // on the thread every other thread waits for.
        @inline(__always) func store(_ row: UnsafePointer<Float>, _ cells: UnsafeMutableRawPointer, _ cell: Int) {
            switch cache.type {
            case .f16: HalfPrecision.store(row, cells.assumingMemoryBound(to: UInt16.self) + cell * width, count: width)
            case .f32: (cells.assumingMemoryBound(to: Float.self) + cell * width).update(from: row, count: width)
            }
        }
        for r in 0..<keys.rows {
            let cell = cache.cell(layer: layer, position: firstPosition + r)
            store(keys.row(r), keyCells, cell)
            store(values.row(r), valueCells, cell)
        }
    }

    public func copyKV(positions: Range<Int>, from source: KVCache, to destination: KVCache) {
        precondition(
            source.type == destination.type && source.width == destination.width && source.layerCount == destination.layerCount,
            "copyKV between caches of different shapes")
        let cellBytes = source.width * source.type.bytesPerElement
        for layer in 0..<source.layerCount {
            for (from, to) in [(source.keys[layer], destination.keys[layer]), (source.values[layer], destination.values[layer])] {
                for p in positions {
                    (to.address + destination.cell(layer: layer, position: p) * cellBytes)
                        .copyMemory(from: from.address + source.cell(layer: layer, position: p) * cellBytes, byteCount: cellBytes)
                }
            }
        }
    }

    public func gatedActivation(_ activation: GatedActivation, gate: Matrix, up: Matrix, into output: Matrix) {
        let count = gate.rows * gate.columns
        let g = gate.floats, u = up.floats, o = output.floats
        // From 4,096 elements (a server's four SmolLM2 rows are 6,144): the other thread is idle
        // meanwhile, so the hand-off is nearly all gain. One decode row stays on one thread.
        forRows(count, minimumPerThread: 2048) { range in
            GatedActivations.apply(
                activation, gate: g + range.lowerBound, up: u + range.lowerBound, into: o + range.lowerBound, count: range.count)
        }
    }

    public func add(_ x: Matrix, into accumulator: Matrix) {
        let count = x.rows * x.columns
        let a = accumulator.floats, b = x.floats
        for i in 0..<count { a[i] += b[i] }
    }

    public func copyRows(_ x: Matrix, rows: Range<Int>, into output: Matrix) {
        precondition(x.columns == output.columns && rows.count <= output.rows && rows.upperBound <= x.rows, "copyRows shape mismatch")
        output.address.copyMemory(from: x.address + rows.lowerBound * x.columns * 4, byteCount: rows.count * x.columns * 4)
    }

    public func read(_ x: Matrix, rows: Range<Int>, into destination: UnsafeMutablePointer<Float>) {
        destination.update(from: x.row(rows.lowerBound), count: rows.count * x.columns)
    }

    // MARK: helpers

    /// Runs `body` over `0..<count`, on several threads only when each gets enough work to
    /// outweigh the hand-off.
    private func forRows(_ count: Int, minimumPerThread: Int, _ body: (Range<Int>) -> Void) {
        if count < 2 * minimumPerThread || pool.threadCount == 1 {
            body(0..<count)
        } else {
            pool.parallelFor(count, body)
        }
    }

    private func scratch(_ buffer: inout DeviceBuffer, bytes: Int) -> DeviceBuffer {
        if buffer.byteCount < bytes { buffer = .host(byteCount: bytes) }
        return buffer
    }

    func ensureWorkerScratch(floats: Int) {
        guard floats > workerScratchFloats || workerScratch.count != pool.threadCount else { return }
        workerScratch = (0..<pool.threadCount).map { _ in .host(byteCount: floats * 4) }
        workerScratchFloats = floats
    }
}
