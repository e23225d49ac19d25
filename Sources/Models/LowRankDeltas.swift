import Adapters
import Compute

/// LoRA adapters applied while the model runs (Hu et al. 2021): each adapted projection
/// y = W·x becomes y = W·x + (s·B)·(A·x), with s = the adapter's scale (`LoRAAdapter.scale`),
/// folded into B once at load. W stays as loaded (quantized, repacked); A and s·B are F32 weights,
/// and A·x is a rank-r intermediate, so an adapter costs 2·r·(inputs + outputs) flops per token
/// and projection instead of a merged copy of W.
///
/// Projections that read the same input (Q/K/V, gate/up) run their A's in one dispatch and their
/// B's in another. Without adapters `add` returns at once: the forward pass is unchanged.
final class LowRankDeltas: @unchecked Sendable {
    // @unchecked: immutable after init; weights live in the backend's memory.

    /// The seven projections, in `AdapterTargets.roles` order.
    enum Projection: Int, CaseIterable {
        case query, key, value, attentionOutput, gate, up, down
        var role: String { AdapterTargets.roles[rawValue] }
    }

    struct Delta {
        /// A: `rank` rows of the projection's inputs.
        let down: Weight
        /// s·B: the projection's outputs, rows of `rank`.
        let up: Weight
        var rank: Int { down.rows }
    }

    /// deltas[block][projection]: one per adapter that adapts it.
    private let deltas: [[[Delta]]]
    let isEmpty: Bool
    /// Scratch widths per batch row: rank-r intermediates and outputs of one sibling group.
    let rankColumns: Int
    let outputColumns: Int

    static let none = LowRankDeltas()

    private init() {
        deltas = []
        isEmpty = true
        rankColumns = 0
        outputColumns = 0
    }

    /// `adapters` must have been validated against the model's file (shapes, architecture).
    init(adapters: [(adapter: LoRAAdapter, scale: Float)], blockCount: Int, backend: any ComputeBackend) throws {
        var deltas = Array(repeating: Array(repeating: [Delta](), count: Projection.allCases.count), count: blockCount)
        for (adapter, userScale) in adapters {
            guard userScale.isFinite else { throw ModelError("adapter \(adapter.source): the scale \(userScale) is not finite") }
            for name in adapter.orderedNames {
                guard let target = AdapterTargets.parse(name), target.block < blockCount,
                    let projection = Projection.allCases.first(where: { $0.role == target.role })
                else {
                    throw ModelError(
                        "adapter \(adapter.source): \(name) cannot be adapted at run time; only the seven block projections can "
                            + "(\(AdapterTargets.roles.joined(separator: ", "))) — `atelier merge` folds other tensors into a model")
                }
                let pair = adapter.pairs[name]!
                let scale = adapter.scale(for: pair, userScale: userScale)
                let down = try Self.weight(name + ".lora_a", pair.a, dimensions: pair.aDimensions, backend: backend)
                let up = try Self.weight(name + ".lora_b", pair.b.map { scale * $0 }, dimensions: pair.bDimensions, backend: backend)
                deltas[target.block][projection.rawValue].append(Delta(down: down, up: up))
            }
        }
        self.deltas = deltas
        isEmpty = deltas.allSatisfy { $0.allSatisfy(\.isEmpty) }
        // The widest group decides: Q/K/V, gate/up, or a lone projection.
        let groups: [[Projection]] = [[.query, .key, .value], [.attentionOutput], [.gate, .up], [.down]]
        var rankColumns = 0, outputColumns = 0
        for block in deltas {
            for group in groups {
                let members = group.flatMap { block[$0.rawValue] }
                rankColumns = max(rankColumns, members.reduce(0) { $0 + $1.rank })
                outputColumns = max(outputColumns, members.reduce(0) { $0 + $1.up.rows })
            }
        }
        self.rankColumns = rankColumns
        self.outputColumns = outputColumns
    }

    /// Workspace buffers (name → columns) the deltas need; none without adapters.
    var workspaceWidths: [String: Int] {
        isEmpty ? [:] : ["lowRank": rankColumns, "lowRankOutput": outputColumns]
    }

    /// outputs[i] += (s·B)·(A·input) for every adapter of `projections[i]` in `block`.
    /// Inlined so that, without adapters, the call and its argument arrays disappear.
    @inline(__always)
    func add(
        block: Int, _ projections: [Projection], input: Matrix, into outputs: [Matrix], workspace ws: Workspace, on b: any ComputeBackend
    ) {
        if isEmpty { return }
        apply(block: block, projections, input: input, into: outputs, workspace: ws, on: b)
    }

    private func apply(
        block: Int, _ projections: [Projection], input: Matrix, into outputs: [Matrix], workspace ws: Workspace, on b: any ComputeBackend
    ) {
        var downs: [Weight] = [], ups: [Weight] = [], targets: [Matrix] = []
        for (projection, output) in zip(projections, outputs) {
            for delta in deltas[block][projection.rawValue] {
                downs.append(delta.down)
                ups.append(delta.up)
                targets.append(output)
            }
        }
        if downs.isEmpty { return }
        let n = input.rows
        let intermediates = ws.views("lowRank", rows: n, columns: downs.map(\.rows))
        let products = ws.views("lowRankOutput", rows: n, columns: ups.map(\.rows))
        b.matmul(downs, input, into: intermediates)
        for (up, (intermediate, product)) in zip(ups, zip(intermediates, products)) {
            b.matmul(up, intermediate, into: product)
        }
        for (product, target) in zip(products, targets) { b.add(product, into: target) }
    }

    /// An F32 weight from host values. The CPU backend copies it (and may release the source's
    /// pages as it goes), so the source is a buffer of its own that the weight keeps as its owner.
    private static func weight(_ name: String, _ values: [Float], dimensions: [Int64], backend: any ComputeBackend) throws -> Weight {
        let source = HostValues(values)
        return try backend.makeWeight(
            name: name, type: .f32, dimensions: dimensions, bytes: UnsafeRawBufferPointer(source.buffer), owner: source)
    }
}

/// Floats in memory of their own, alive as long as a weight made from them.
private final class HostValues {
    let buffer: UnsafeMutableBufferPointer<Float>

    init(_ values: [Float]) {
        buffer = .allocate(capacity: values.count)
        _ = buffer.initialize(from: values)
    }

    deinit { buffer.deallocate() }
}

extension Workspace {
    /// Consecutive matrices of `rows` rows with the given widths in one buffer (each contiguous),
    /// for intermediates whose widths vary by projection.
    func views(_ name: String, rows: Int, columns: [Int]) -> [Matrix] {
        let buffer = buffers[name]!.buffer
        var offset = 0
        return columns.map { width in
            defer { offset += rows * width * 4 }
            return Matrix(buffer: buffer, offset: offset, rows: rows, columns: width)
        }
    }
}
