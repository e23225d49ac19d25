/// Ends generated text before the first stop string, and holds back a tail that could still grow
/// into one, so no client ever sees part of a stop string. Text is compared by Unicode scalars (as
/// OpenAI and llama.cpp compare bytes): a stop string matches wherever its scalars appear, even
/// where a later combining mark would join a character across it.
///
/// The first stop string to be completed ends the text (the longest, when several end at the same
/// scalar), so where the text ends does not depend on how it was cut into tokens. Matching is
/// incremental (`StopStringAutomaton`): each scalar costs O(1) on average, not O(stop length).
public struct StopStringFilter: Sendable {
    /// Stop strings a request may have: as many as OpenAI's API accepts.
    public static let maximumCount = 4
    /// The longest stop string, in UTF-8 bytes. It bounds the text held back while a stop string
    /// may still be coming.
    public static let maximumLength = 256

    public struct InvalidStopStrings: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Checks a request's stop strings against the limits; the error says which one is wrong.
    public static func validate(_ stops: [String]) throws(InvalidStopStrings) {
        guard stops.count <= maximumCount else {
            throw InvalidStopStrings(description: "stop has \(stops.count) sequences; at most \(maximumCount)")
        }
        for (index, stop) in stops.enumerated() where stop.utf8.count > maximumLength {
            throw InvalidStopStrings(description: "stop[\(index)] is \(stop.utf8.count) bytes of UTF-8; at most \(maximumLength)")
        }
    }

    private let automaton: StopStringAutomaton
    /// The automaton's state after the text received: the unsent text is exactly its tail.
    private var state = StopStringAutomaton.root
    private(set) var stopped = false

    /// Empty stop strings are ignored.
    init(stops: [String]) {
        automaton = StopStringAutomaton(stops: stops.filter { !$0.isEmpty }.map { Array($0.unicodeScalars) })
    }

    /// Adds a piece of generated text; returns the text that can go out now.
    mutating func append(_ piece: String) -> String {
        guard !stopped else { return "" }
        if automaton.isEmpty { return piece }
        let held = automaton.text(state)
        var read = 0
        for scalar in piece.unicodeScalars {
            state = automaton.next(state, scalar)
            read += 1
            let match = automaton.matchLength(state)
            if match > 0 {
                stopped = true
                return Self.text(held, piece, count: held.count + read - match)
            }
        }
        return Self.text(held, piece, count: held.count + read - automaton.depth(state))
    }

    /// What is held back, when generation ends for another reason.
    mutating func flush() -> String {
        guard !stopped else { return "" }
        defer { state = StopStringAutomaton.root }
        return String(String.UnicodeScalarView(automaton.text(state)))
    }

    /// The first `count` scalars of `held` followed by `piece`.
    private static func text(_ held: ArraySlice<Unicode.Scalar>, _ piece: String, count: Int) -> String {
        var out = String.UnicodeScalarView()
        out.append(contentsOf: held.prefix(count))
        out.append(contentsOf: piece.unicodeScalars.prefix(max(0, count - held.count)))
        return String(out)
    }
}
