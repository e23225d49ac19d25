/// The stop strings of one request as an Aho–Corasick automaton over Unicode scalars. A state is
/// the longest tail of the text read so far that begins some stop string; reading a scalar follows
/// at most one edge plus failure links, and the failure links a text follows never outnumber its
/// scalars, so matching costs O(1) per scalar on average whatever the stop strings' lengths.
struct StopStringAutomaton: Sendable {
    private struct Node: Sendable {
        var edges: [Unicode.Scalar: Int32] = [:]
        /// The state for this node's text without its first scalar(s): its longest proper tail
        /// that is a node too.
        var failure: Int32 = 0
        var depth: Int32 = 0
        /// The length of the longest stop string that ends this node's text (0: none).
        var longestMatch: Int32 = 0
        /// A stop string that begins with this node's text (its first `depth` scalars).
        var stopIndex: Int32 = 0
    }

    static let root = 0
    private let stops: [[Unicode.Scalar]]
    private var nodes = [Node()]

    /// `stops` must not be empty strings.
    init(stops: [[Unicode.Scalar]]) {
        self.stops = stops
        for (index, stop) in stops.enumerated() {
            var node = 0
            for scalar in stop {
                if let next = nodes[node].edges[scalar] {
                    node = Int(next)
                } else {
                    nodes.append(Node(depth: nodes[node].depth + 1, stopIndex: Int32(index)))
                    nodes[node].edges[scalar] = Int32(nodes.count - 1)
                    node = nodes.count - 1
                }
            }
            nodes[node].longestMatch = Int32(stop.count)
        }
        linkFailures()
    }

    var isEmpty: Bool { nodes.count == 1 }

    /// The state after reading `scalar` in `state`.
    func next(_ state: Int, _ scalar: Unicode.Scalar) -> Int {
        var node = state
        while true {
            if let next = nodes[node].edges[scalar] { return Int(next) }
            if node == Self.root { return Self.root }
            node = Int(nodes[node].failure)
        }
    }

    /// How many scalars of the text read so far the state holds: the tail that may still grow
    /// into a stop string.
    func depth(_ state: Int) -> Int { Int(nodes[state].depth) }

    /// The longest stop string that the text read so far ends with; 0 when none does.
    func matchLength(_ state: Int) -> Int { Int(nodes[state].longestMatch) }

    /// The state's tail of the text (the first `depth` scalars of a stop string it begins).
    func text(_ state: Int) -> ArraySlice<Unicode.Scalar> {
        state == Self.root ? [] : stops[Int(nodes[state].stopIndex)].prefix(depth(state))
    }

    /// Breadth first, so every shorter node's failure link is known when a longer one needs it.
    private mutating func linkFailures() {
        var queue = nodes[Self.root].edges.values.map(Int.init)
        var head = 0
        while head < queue.count {
            let node = queue[head]
            head += 1
            for (scalar, child) in nodes[node].edges {
                let child = Int(child)
                let failure = node == Self.root ? Self.root : next(Int(nodes[node].failure), scalar)
                nodes[child].failure = Int32(failure)
                // A stop string ending the failure state's text ends this one too; a longer one of this node's own wins.
                nodes[child].longestMatch = max(nodes[child].longestMatch, nodes[failure].longestMatch)
                queue.append(child)
            }
        }
    }
}
