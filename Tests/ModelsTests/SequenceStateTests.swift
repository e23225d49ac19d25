import Models
import Testing

/// The cache rules a session, a conversation and a server slot share, on made-up layouts:
/// no model is needed, only each layer's cell count and the sliding window.
@Suite struct SequenceStateTests {
    /// Two global layers of the whole context (100) and two ring layers of window 20 + slack 10.
    static func ringed() -> SequenceState {
        SequenceState(contextLength: 100, layerCapacities: [100, 30, 100, 30], slidingWindow: 20)
    }

    static func flat() -> SequenceState {
        SequenceState(contextLength: 100, layerCapacities: [100, 100], slidingWindow: nil)
    }

    @Test func appendAdvancesThePositionAndTheWrittenEnd() {
        var state = Self.ringed()
        state.append([5, 6, 7])
        state.append(CollectionOfOne(8))
        #expect(state.tokens == [5, 6, 7, 8])
        #expect(state.position == 4 && state.writtenEnd == 4)
        let rewound = state.rewind(to: 1)
        #expect(rewound)
        #expect(state.tokens == [5] && state.writtenEnd == 4)
        state.reset()
        #expect(state.tokens.isEmpty && state.position == 0 && state.writtenEnd == 0)
    }

    @Test func withoutRingsAnyEarlierPositionIsReachable() {
        var state = Self.flat()
        state.append(Array(0..<90))
        #expect(state.canRewind(to: 0) && state.canRewind(to: 90))
        #expect(!state.canRewind(to: 91) && !state.canRewind(to: -1))
    }

    /// A ring of 30 cells for a window of 20 can go back 10 positions from the furthest written:
    /// further back, the window's oldest cells hold newer positions.
    @Test func ringsGoBackAtMostTheirSlackFromTheFurthestPositionWritten() {
        var state = Self.ringed()
        state.append(Array(0..<50))
        #expect(state.canRewind(to: 40))
        #expect(!state.canRewind(to: 39))
        let refused = !state.rewind(to: 39)
        #expect(refused)
        #expect(state.position == 50)  // a refused rewind changes nothing
        let rewound = state.rewind(to: 45)
        #expect(rewound)
        state.append([1, 2])
        // Position 47 now, but 50 was written: the bound still counts from 50.
        #expect(state.writtenEnd == 50)
        #expect(state.canRewind(to: 40) && !state.canRewind(to: 39))
        state.reset()
        state.append(Array(0..<30))
        #expect(state.canRewind(to: 20) && !state.canRewind(to: 19))
    }

    /// Gemma 3 270M in a 1024 context with 64-token batches: window 512, rings of 576 cells.
    @Test func gemmaSizedRing() {
        var state = SequenceState(contextLength: 1024, layerCapacities: [576, 576, 1024], slidingWindow: 512)
        state.append([Int32](repeating: 1, count: 700))
        #expect(!state.canRewind(to: 700 - 65))
        #expect(state.canRewind(to: 700 - 64))
        #expect(!state.canRewind(to: 0))
    }

    @Test func aSmallerLayerWithoutAWindowIsNeverRewound() {
        var state = SequenceState(contextLength: 100, layerCapacities: [100, 50], slidingWindow: nil)
        state.append([1, 2, 3])
        #expect(!state.canRewind(to: 2))
    }

    @Test func sharedPrefix() {
        var state = Self.flat()
        state.append([1, 2, 3, 4])
        #expect(state.sharedPrefixLength(with: [1, 2, 9, 4]) == 2)
        #expect(state.sharedPrefixLength(with: [1, 2, 3, 4, 5]) == 4)
        #expect(state.sharedPrefixLength(with: [7]) == 0)
        #expect(SequenceState.sharedPrefixLength([1, 2, 3], [1, 2]) == 2)
    }

    /// What a new prompt can keep: its shared prefix, but never its last token, whose logits
    /// start the answer and so must be evaluated.
    @Test func reusablePrefixLeavesTheLastPromptTokenToEvaluate() {
        var state = Self.flat()
        state.append([1, 2, 3])
        #expect(state.reusablePrefix(of: [1, 2, 3]) == 2)
        #expect(state.reusablePrefix(of: [1, 2, 3, 4]) == 3)
        #expect(state.reusablePrefix(of: [1, 9, 9]) == 1)
        #expect(state.reusablePrefix(of: [9]) == 0)
        var kept = state.keepReusablePrefix(of: [1, 2, 3, 4, 5])
        #expect(kept == 3)
        #expect(state.tokens == [1, 2, 3])
        kept = state.keepReusablePrefix(of: [1, 2, 8])
        #expect(kept == 2)
        #expect(state.tokens == [1, 2] && state.writtenEnd == 3)
    }

    /// When the shared prefix lies further back than a ring allows, nothing is kept and the
    /// sequence starts over (its written end forgotten, so later rewinds are bounded afresh).
    @Test func keepStartsOverWhenTheRingCannotGoBackThatFar() {
        var state = Self.ringed()
        let old = Array(Int32(0)..<50)
        state.append(old)
        let prompt = Array(old[..<30]) + [99, 98]
        #expect(state.reusablePrefix(of: prompt) == 0)
        var kept = state.keepReusablePrefix(of: prompt)
        #expect(kept == 0)
        #expect(state.tokens.isEmpty && state.writtenEnd == 0)
        // Within the slack the prefix is kept.
        state.append(old)
        kept = state.keepReusablePrefix(of: Array(old[..<42]) + [7])
        #expect(kept == 42)
        #expect(state.position == 42 && state.writtenEnd == 50)
    }

    /// Another sequence may copy cells only from a cache whose rings have not wrapped.
    @Test func holdsEveryPositionUntilARingWraps() {
        let state = Self.ringed()
        #expect(state.holdsEveryPosition(below: 30))
        #expect(!state.holdsEveryPosition(below: 31))
        #expect(Self.flat().holdsEveryPosition(below: 100))
    }
}
