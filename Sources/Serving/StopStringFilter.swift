/// Ends generated text before the first stop string, and holds back a tail that could still grow
/// into one, so no client ever sees part of a stop string. Text is compared by Unicode scalars (as
/// OpenAI and llama.cpp compare bytes): a stop string matches wherever its scalars appear, even
/// where a later combining mark would join a character across it.
struct StopStringFilter {
    private let stops: [[Unicode.Scalar]]
    /// Text received but not yet returned: at most a held-back possible start of a stop string.
    private var unsent: [Unicode.Scalar] = []
    private(set) var stopped = false

    init(stops: [String]) { self.stops = stops.filter { !$0.isEmpty }.map { Array($0.unicodeScalars) } }

    /// Adds a piece of generated text; returns the text that can go out now.
    mutating func append(_ piece: String) -> String {
        guard !stopped else { return "" }
        unsent += piece.unicodeScalars
        if let start = stops.compactMap({ firstMatch(of: $0) }).min() {
            stopped = true
            defer { unsent = [] }
            return String(String.UnicodeScalarView(unsent[..<start]))
        }
        return take(unsent.count - heldBackLength())
    }

    /// What is held back, when generation ends for another reason.
    mutating func flush() -> String { stopped ? "" : take(unsent.count) }

    private mutating func take(_ count: Int) -> String {
        defer { unsent.removeFirst(count) }
        return String(String.UnicodeScalarView(unsent[..<count]))
    }

    private func firstMatch(of stop: [Unicode.Scalar]) -> Int? {
        guard stop.count <= unsent.count else { return nil }
        return (0...(unsent.count - stop.count)).first { unsent[$0..<($0 + stop.count)].elementsEqual(stop) }
    }

    /// The longest tail of the unsent text that is a proper prefix of a stop string. Every later
    /// match starts inside it, so the text before it can go.
    private func heldBackLength() -> Int {
        var longest = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, unsent.count), to: longest, by: -1)
            where unsent[(unsent.count - length)...].elementsEqual(stop[..<length]) {
                longest = length
                break
            }
        }
        return longest
    }
}
