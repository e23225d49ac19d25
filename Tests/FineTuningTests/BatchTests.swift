import FineTuning
import Testing

@Suite struct BatchTests {
    static func example(_ tokens: [Int32], trainedFrom: Int, line: Int) -> FineTuningExample {
        FineTuningExample(tokens: tokens, trained: tokens.indices.map { $0 >= trainedFrom }, line: line)
    }

    static let dataset = FineTuningDataset(
        path: "x.jsonl", format: .text, context: 16,
        examples: [
            example([1, 2, 3, 4, 5], trainedFrom: 3, line: 1), example([6, 7], trainedFrom: 1, line: 2),
            example([8, 9, 10], trainedFrom: 1, line: 3),
        ])

    @Test func rowsArePaddedToTheLongestExampleWithMaskedTargets() throws {
        var batches = try FineTuningBatches(dataset: Self.dataset, batchSize: 3, seed: 1, padding: 0)
        let batch = batches.next()
        #expect(batch.rows == 3 && batch.time == 4)
        var rows: [Int: ([Int32], [Int32])] = [:]
        for (r, index) in batch.exampleIndices.enumerated() {
            rows[index] = (Array(batch.inputs[(r * 4)..<(r * 4 + 4)]), Array(batch.targets[(r * 4)..<(r * 4 + 4)]))
        }
        // Token i's target is token i + 1 where that token is trained; -1 for the prompt and padding.
        #expect(rows[0]! == ([1, 2, 3, 4], [-1, -1, 4, 5]))
        #expect(rows[1]! == ([6, 0, 0, 0], [7, -1, -1, -1]))
        #expect(rows[2]! == ([8, 9, 0, 0], [9, 10, -1, -1]))
        #expect(batch.trainedTokenCount == 5)
    }

    @Test func epochsVisitEveryExampleOnceInASeededOrder() throws {
        var batches = try FineTuningBatches(dataset: Self.dataset, batchSize: 2, seed: 7)
        #expect(batches.batchesPerEpoch == 2)
        let first = batches.next(), second = batches.next(), third = batches.next()
        #expect(first.rows == 2 && second.rows == 1 && third.epoch == 1)
        #expect(Set(first.exampleIndices + second.exampleIndices) == [0, 1, 2])
        #expect(first.exampleIndices + second.exampleIndices == FineTuningBatches.order(count: 3, seed: 7, epoch: 0))
        #expect(batches.position == DataPosition(seed: 7, epoch: 1, index: 2))
        // Different epochs and seeds give different orders (over enough examples to tell).
        #expect(FineTuningBatches.order(count: 50, seed: 7, epoch: 0) != FineTuningBatches.order(count: 50, seed: 7, epoch: 1))
        #expect(FineTuningBatches.order(count: 50, seed: 7, epoch: 0) != FineTuningBatches.order(count: 50, seed: 8, epoch: 0))
        #expect(FineTuningBatches.order(count: 50, seed: 7, epoch: 3).sorted() == Array(0..<50))
    }

    @Test func aResumedRunContinuesWhereItStopped() throws {
        let examples = (0..<11).map { Self.example([Int32($0), Int32($0 + 1), Int32($0 + 2)], trainedFrom: 1, line: $0 + 1) }
        let dataset = FineTuningDataset(path: "x", format: .text, context: 8, examples: examples)
        var straight = try FineTuningBatches(dataset: dataset, batchSize: 3, seed: 42)
        var stopped = try FineTuningBatches(dataset: dataset, batchSize: 3, seed: 42)
        for _ in 0..<5 {
            _ = straight.next()
            _ = stopped.next()
        }
        var resumed = try FineTuningBatches(examples: examples, batchSize: 3, position: stopped.position)
        for _ in 0..<7 { #expect(resumed.next() == straight.next()) }
        #expect(throws: FineTuningError.self) {
            try FineTuningBatches(examples: examples, batchSize: 3, position: DataPosition(seed: 1, epoch: 0, index: 12))
        }
    }
}
