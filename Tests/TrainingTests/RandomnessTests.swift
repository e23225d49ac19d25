import Foundation
import NeuralNetworks
import Randomness
import Testing

/// The shared generator against values worked out by hand from the published algorithms, and the
/// checkpoint form of `SeededRandom`.
@Suite struct RandomnessTests {
    /// xoshiro256** from the state {1, 2, 3, 4}: rotl(2·5, 7)·9 = 11,520; the next state has s1 = 0,
    /// so the second output is 0; then s1 = 262,149 gives rotl(1,310,745, 7)·9 = 1,509,978,240.
    @Test func xoshiroFollowsTheReferenceAlgorithm() throws {
        var generator = try #require(Xoshiro256(words: [1, 2, 3, 4]))
        #expect(generator.next() == 11_520)
        #expect(generator.next() == 0)
        #expect(generator.next() == 1_509_978_240)
    }

    /// splitmix64 started at 0: its first output is 0xE220A8397B1DCDAF (Vigna's splitmix64.c).
    @Test func splitmixFirstOutput() {
        var state: UInt64 = 0
        #expect(Xoshiro256.splitmix(&state) == 0xE220_A839_7B1D_CDAF)
        #expect(Xoshiro256(seed: 0).s0 == 0xE220_A839_7B1D_CDAF)
    }

    @Test func allZeroStateIsRefused() {
        #expect(Xoshiro256(words: [0, 0, 0, 0]) == nil)
        #expect(Xoshiro256(words: [1, 2, 3]) == nil)
        #expect(throws: SeededRandomError.self) { try SeededRandom(state: [0, 0, 0, 0]) }
    }

    /// A checkpoint keeps the generator as {"state": [...]} and a decoded one continues the same sequence.
    @Test func checkpointFormRoundTrips() throws {
        var random = SeededRandom(seed: 42)
        _ = random.next()
        let data = try JSONEncoder().encode(random)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect((object["state"] as? [Any])?.count == 4)
        var decoded = try JSONDecoder().decode(SeededRandom.self, from: data)
        #expect(decoded == random)
        #expect(decoded.next() == random.next())
        #expect(throws: (any Error).self) { try JSONDecoder().decode(SeededRandom.self, from: Data(#"{"state":[0,0,0,0]}"#.utf8)) }
    }
}
