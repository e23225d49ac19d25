import Testing

@testable import Serving

@Suite struct StopStringFilterTests {
    @Test func holdsBackAPossibleStopString() {
        var t = StopStringFilter(stops: ["END"])
        #expect(t.append("hello E") == "hello ")
        #expect(t.append("N") == "")
        #expect(t.append("D more") == "")
        #expect(t.stopped)
        #expect(t.append("after") == "")
        #expect(t.flush() == "")
    }

    @Test func falseAlarmIsReleased() {
        var t = StopStringFilter(stops: ["END"])
        #expect(t.append("E") == "")
        #expect(t.append("X") == "EX")
        #expect(t.append("EN") == "")
        #expect(t.flush() == "EN")
    }

    /// Whichever stop string is completed first ends the text, not the first in the list.
    @Test func theFirstCompletedStopStringWins() {
        var t = StopStringFilter(stops: ["b", "a"])
        #expect(t.append("xab") == "x")
        #expect(t.stopped)
    }

    /// "bc" is complete before "abcd" could be, whether "abcd" arrives in one piece or two: the
    /// cut does not depend on the token boundaries.
    @Test func theCutDoesNotDependOnPieces() {
        var whole = StopStringFilter(stops: ["abcd", "bc"])
        #expect(whole.append("xabcd") == "xa")
        var split = StopStringFilter(stops: ["abcd", "bc"])
        #expect(split.append("xab") == "x")
        #expect(split.append("cd") == "a")
        #expect(split.stopped)
    }

    /// A held-back tail may be the start of several stop strings; the longest is kept, and of
    /// stop strings completed by the same scalar the longest cuts.
    @Test func holdsTheLongestPossibleStart() {
        var t = StopStringFilter(stops: ["aab", "ab"])
        #expect(t.append("xaa") == "x")
        #expect(t.append("b!") == "")
        #expect(t.stopped)
    }

    /// A combining mark arriving in a later piece joins the character already sent; it must still
    /// go out (counting characters instead of scalars lost it), and a stop string made of the
    /// base letter matches as OpenAI's byte comparison does.
    @Test func combiningMarksInLaterPiecesAreNotLost() {
        var t = StopStringFilter(stops: [])
        #expect(t.append("cafe") == "cafe")
        #expect(t.append("\u{301}!") == "\u{301}!")
        var flag = StopStringFilter(stops: [])
        #expect(flag.append("\u{1F1EB}") == "\u{1F1EB}")
        #expect(flag.append("\u{1F1F7} ok") == "\u{1F1F7} ok")
        var stop = StopStringFilter(stops: ["e"])
        #expect(stop.append("cafe\u{301}") == "caf")
    }

    /// Random texts over a small alphabet (so stop strings and their prefixes occur often), cut
    /// into random pieces (empty ones too), against the definition checked scalar by scalar:
    /// after every piece the text sent is the text so far without its longest tail that begins a
    /// stop string; the first completed stop string (the longest of those ending at that scalar)
    /// ends the text before it.
    @Test func agreesWithABruteForceReference() {
        var random = SplitMix64(seed: 18)
        let alphabet: [Unicode.Scalar] = ["a", "b", "c", "\u{301}", "é"]
        func randomString(_ lengths: ClosedRange<Int>) -> [Unicode.Scalar] {
            (0..<random.next(in: lengths)).map { _ in alphabet[random.next(in: 0...(alphabet.count - 1))] }
        }
        for round in 0..<3000 {
            let stops = (0..<random.next(in: 1...4)).map { _ in randomString(1...6) }
            let text = randomString(0...60)
            var pieces: [[Unicode.Scalar]] = []
            var at = 0
            while at < text.count {
                let length = min(random.next(in: 0...5), text.count - at)
                pieces.append(Array(text[at..<(at + length)]))
                at += length
            }
            var filter = StopStringFilter(stops: stops.map(Self.string))
            var sent: [Unicode.Scalar] = [], read = 0
            let expectedEnd = Self.referenceStop(text, stops)
            for piece in pieces {
                sent += filter.append(Self.string(piece)).unicodeScalars
                read += piece.count
                if let end = expectedEnd, end.matchEnd <= read {
                    #expect(filter.stopped && sent == Array(text[..<end.cut]), "round \(round): \(stops) \(text)")
                    break
                }
                #expect(!filter.stopped, "round \(round)")
                let held = Self.referenceHeldBack(Array(text[..<read]), stops)
                #expect(sent == Array(text[..<(read - held)]), "round \(round): \(stops) \(text) after \(read)")
            }
            sent += filter.flush().unicodeScalars
            #expect(sent == Array(text[..<(expectedEnd?.cut ?? text.count)]), "round \(round): \(stops) \(text)")
        }
    }

    /// The first scalar count at which a stop string is a suffix of the text, and where the
    /// longest stop string ending there starts.
    static func referenceStop(_ text: [Unicode.Scalar], _ stops: [[Unicode.Scalar]]) -> (matchEnd: Int, cut: Int)? {
        for end in 0...text.count {
            let longest = stops.filter { $0.count <= end && Array(text[(end - $0.count)..<end]) == $0 }.map(\.count).max()
            if let longest { return (end, end - longest) }
        }
        return nil
    }

    /// The longest tail of `text` that is a proper prefix of a stop string.
    static func referenceHeldBack(_ text: [Unicode.Scalar], _ stops: [[Unicode.Scalar]]) -> Int {
        var longest = 0
        for stop in stops {
            for length in 0..<stop.count where length <= text.count && Array(text.suffix(length)) == Array(stop.prefix(length)) {
                longest = max(longest, length)
            }
        }
        return longest
    }

    static func string(_ scalars: [Unicode.Scalar]) -> String { String(String.UnicodeScalarView(scalars)) }

    @Test func limitsAreEnforced() throws {
        let longest = String(repeating: "x", count: StopStringFilter.maximumLength)
        try StopStringFilter.validate(Array(repeating: longest, count: StopStringFilter.maximumCount))
        try StopStringFilter.validate([])
        #expect(StopStringFilter.maximumCount == 4 && StopStringFilter.maximumLength == 256)
        #expect(throws: StopStringFilter.InvalidStopStrings.self) { try StopStringFilter.validate(["a", "b", "c", "d", "e"]) }
        do {
            // 129 characters, 258 bytes: the limit is in bytes.
            try StopStringFilter.validate(["ok", String(repeating: "é", count: 129)])
            Issue.record("a 258-byte stop string was accepted")
        } catch {
            #expect("\(error)" == "stop[1] is 258 bytes of UTF-8; at most 256")
        }
        do {
            try StopStringFilter.validate(Array(repeating: "x", count: 5))
            Issue.record("five stop strings were accepted")
        } catch {
            #expect("\(error)" == "stop has 5 sequences; at most 4")
        }
    }
}

/// A small seeded generator, so a failing round can be replayed.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func next(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
}
