import TensorOps
import Tensors

/// A tensor in a computation that can be differentiated: its value, the gradient of a scalar with
/// respect to it once `backward()` has run, and — for results of ops — how it was computed.
///
/// The graph is built as ops run (define-by-run): every op on variables that need gradients
/// records its inputs and a backward rule, written with the backend's own kernels, in the result.
/// `backward()` on a scalar walks that graph once in reverse topological order. Leaves (parameters,
/// inputs) keep their gradients, which add up over several `backward()` calls (gradient
/// accumulation) until `zeroGradient()`; intermediate gradients are freed as soon as they are used.
///
/// The graph links `GradientSlot`s, not variables: a recorded op keeps its inputs' slots (where
/// their gradients go) but not their values. A value stays alive only while someone holds its
/// variable or a backward rule captured the tensor — as in PyTorch, an intermediate no rule needs
/// (a residual sum, a LoRA branch's output, a projection's result once attention has what it
/// keeps) is freed when the forward code drops it. Each rule captures exactly the tensors it
/// reads, so activation memory is what backward needs and no more.
public final class Variable {
    public internal(set) var value: Tensor
    public let backend: any TensorBackend
    let slot: GradientSlot

    /// A leaf: a parameter (`requiresGradient: true`) or a constant input.
    public init(_ value: Tensor, backend: any TensorBackend, requiresGradient: Bool = false, name: String = "") {
        self.value = value
        self.backend = backend
        slot = GradientSlot(shape: value.shape, backend: backend, requiresGradient: requiresGradient, name: name, node: nil)
    }

    /// The result of an op: it needs a gradient when recording is on and any input needs one.
    init(_ value: Tensor, backend: any TensorBackend, inputs: [Variable], name: String, backward: @escaping (Tensor) -> [Tensor?]) {
        self.value = value
        self.backend = backend
        let needed = GradientRecording.isEnabled && inputs.contains { $0.requiresGradient }
        slot = GradientSlot(
            shape: value.shape, backend: backend, requiresGradient: needed, name: name,
            node: needed ? Node(inputs: inputs.map(\.slot), backward: backward) : nil)
    }

    /// The gradient of the last `backward()`'s scalar with respect to this variable (leaves only,
    /// summed over calls); nil before any.
    public var gradient: Tensor? { slot.gradient }
    /// Whether gradients flow to this variable. A leaf with false is frozen (or a constant input).
    public var requiresGradient: Bool {
        get { slot.requiresGradient }
        set { slot.requiresGradient = newValue }
    }
    /// A name for messages and checkpoints ("blk.0.attn_q.weight").
    public var name: String {
        get { slot.name }
        set { slot.name = newValue }
    }
    public var shape: [Int] { value.shape }
    public var dtype: DType { value.dtype }
    public var isLeaf: Bool { slot.node == nil }

    /// Replaces a leaf's value in place of its old one (an optimizer step, loading a checkpoint).
    public func assign(_ newValue: Tensor) {
        precondition(
            isLeaf && newValue.shape == value.shape && newValue.dtype == value.dtype, "assign \(newValue.shape) to \(name) \(value.shape)")
        backend.copy(newValue, into: value)
    }

    /// Multiplies the gradient by `factor` (gradient clipping).
    public func scaleGradient(by factor: Double) { slot.scaleGradient(by: factor) }

    public func zeroGradient() { slot.clearGradient() }

    /// Back-propagates from this scalar: every variable it depends on that requires a gradient
    /// receives d(self)/d(variable), scaled by `seed` (1 by default).
    public func backward(seed: Double = 1) {
        precondition(value.count == 1, "backward() starts from a scalar, not a \(value.shape) tensor")
        guard requiresGradient else { return }
        let start = backend.zeros(value.shape, dtype: value.dtype)
        backend.fill(start, with: seed)
        backward(gradient: start)
    }

    /// Back-propagates a given gradient of some scalar with respect to this variable.
    public func backward(gradient seed: Tensor) {
        guard requiresGradient else { return }
        slot.receive(seed)
        for slot in GradientSlot.reverseTopologicalOrder(from: slot) {
            guard let node = slot.node, let gradient = slot.gradient else { continue }
            let inputGradients = node.backward(gradient)
            precondition(
                inputGradients.count == node.inputs.count, "backward rule of \(slot.name) returned \(inputGradients.count) gradients")
            for (input, inputGradient) in zip(node.inputs, inputGradients) where input.requiresGradient {
                if let inputGradient { input.receive(inputGradient) }
            }
            // Intermediate gradients are used once; free them now (peak memory = one layer's worth).
            slot.clearGradient()
        }
    }

    /// The same value cut off from the graph (a constant).
    public func detached() -> Variable { Variable(value, backend: backend) }
}

/// Where a variable's gradient arrives, and how the variable was computed: the graph's vertex,
/// without the value (see `Variable`).
final class GradientSlot {
    let shape: [Int]
    let backend: any TensorBackend
    var requiresGradient: Bool
    var name: String
    let node: Node?
    private(set) var gradient: Tensor?
    /// True when `gradient` is a buffer no one else holds, so later gradients may add into it in place.
    private var ownsGradient = false

    init(shape: [Int], backend: any TensorBackend, requiresGradient: Bool, name: String, node: Node?) {
        self.shape = shape
        self.backend = backend
        self.requiresGradient = requiresGradient
        self.name = name
        self.node = node
    }

    /// Adds `incoming` to this gradient.
    func receive(_ incoming: Tensor) {
        precondition(incoming.shape == shape, "gradient \(incoming.shape) for \(name) of shape \(shape)")
        guard let current = gradient else {
            gradient = incoming
            ownsGradient = false
            return
        }
        if ownsGradient {
            backend.accumulate(incoming, into: current, factor: 1)
        } else {
            gradient = backend.binary(.add, current, incoming)
            ownsGradient = true
        }
    }

    func scaleGradient(by factor: Double) {
        guard let current = gradient else { return }
        gradient = backend.scale(current, by: factor)
        ownsGradient = true
    }

    func clearGradient() {
        gradient = nil
        ownsGradient = false
    }

    /// Slots reachable from `root` through recorded ops, each after every slot that uses it.
    static func reverseTopologicalOrder(from root: GradientSlot) -> [GradientSlot] {
        var order: [GradientSlot] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(GradientSlot, Bool)] = [(root, false)]
        while let (slot, expanded) = stack.popLast() {
            if expanded {
                order.append(slot)
                continue
            }
            guard visited.insert(ObjectIdentifier(slot)).inserted else { continue }
            stack.append((slot, true))
            for input in slot.node?.inputs ?? [] where input.requiresGradient && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        return order.reversed()
    }
}

/// How an op's result came about: its inputs' slots, and the rule that maps the gradient of the
/// result to the gradients of its inputs (nil for an input that needs none).
struct Node {
    let inputs: [GradientSlot]
    let backward: (Tensor) -> [Tensor?]
}

/// Whether ops record themselves for backward. Off inside `withoutGradients` (evaluation,
/// sampling, the first pass of a checkpointed block).
public enum GradientRecording {
    @TaskLocal public static var isEnabled = true
}

/// Runs `body` without recording ops: results need no gradient and keep no graph.
public func withoutGradients<R>(_ body: () throws -> R) rethrows -> R {
    try GradientRecording.$isEnabled.withValue(false, operation: body)
}
