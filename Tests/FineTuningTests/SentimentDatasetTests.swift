import Datasets
import FineTuning
import Foundation
import Testing

/// Fetches the vaderSentiment sdist from PyPI on first use (2.4 MB), then reads the cache.
@Suite(.tags(.model)) struct SentimentDatasetTests {
    @Test func splitCountsAndRecords() throws {
        let prepared = try SentimentDataset.prepare()
        // Counted independently (Python) from movieReviewSnippets_GroundTruth.txt: 10,605 rated
        // lines, 10,603 distinct sentences, of which 4,597 rated ≥ 1 and 4,574 rated ≤ −1.
        #expect(prepared.positives == 4597 && prepared.negatives == 4574 && prepared.neutral == 1432 && prepared.duplicates == 2)
        #expect(prepared.testCount == 1000 && prepared.trainCount == 8171)
        let test = try String(contentsOfFile: prepared.test, encoding: .utf8).split(separator: "\n")
        let train = try String(contentsOfFile: prepared.train, encoding: .utf8).split(separator: "\n")
        #expect(test.count == 1000 && train.count == 8171)
        #expect(Set(test).isDisjoint(with: Set(train)) && Set(test + train).count == 9171)
        let record = try JSONSerialization.jsonObject(with: Data(test[0].utf8)) as! [String: [[String: String]]]
        let messages = try #require(record["messages"])
        #expect(messages.count == 2 && messages[0]["role"] == "user" && messages[1]["role"] == "assistant")
        #expect(messages[0]["content"]!.hasPrefix(SentimentDataset.instruction + "\n\nReview: "))
        #expect(SentimentDataset.labels.contains(messages[1]["content"]!))
        let positives = (test + train).filter { $0.hasSuffix(#"{"content":"positive","role":"assistant"}]}"#) }.count
        #expect(positives == 4597)
        // The same split every time.
        #expect(try SentimentDataset.prepare() == prepared)
        #expect(try String(contentsOfFile: prepared.test, encoding: .utf8).split(separator: "\n") == test)
    }
}
