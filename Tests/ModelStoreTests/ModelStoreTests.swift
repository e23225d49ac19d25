import Foundation
import GGUF
import XCTest
@testable import ModelStore

final class ModelStoreTests: XCTestCase {
    /// Store in a fresh temp directory with fast retries (never the user's real store).
    func makeStore(freeBytes: (@Sendable (String) throws -> Int64)? = nil) throws -> ModelStore {
        let root = try makeTempDirectory(self) + "/home"
        return ModelStore(root: root, freeBytes: freeBytes ?? { _ in Int64.max / 2 },
                          downloadPolicy: DownloadPolicy(maxAttempts: 4, baseDelay: 0.01))
    }

    func ggufFiles(_ store: ModelStore) -> [String] {
        files(in: store.modelsDirectory).filter { $0.hasSuffix(".gguf") }
    }

    // MARK: - HTTP

    func testHTTPPullResumesAfterDroppedConnection() throws {
        let blob = makeGGUFBlob()
        let server = try TestHTTPServer(blob: blob, mode: .dropFirstGetHalfway)
        defer { server.stop() }
        let store = try makeStore()
        let progress = RecordingProgress()
        let model = try store.pull(server.url, progress: progress)

        XCTAssertEqual(model.name, "tiny-model")
        XCTAssertEqual(model.path, store.modelsDirectory + "/tiny-model.gguf")
        XCTAssertEqual(readFile(model.path), blob)
        XCTAssertEqual(model.sizeBytes, Int64(blob.count))
        XCTAssertEqual(model.sha256, SHA256.hexDigest(of: blob))
        XCTAssertEqual(model.architecture, "llama")
        XCTAssertEqual(model.quantization, "Q4_1")
        XCTAssertEqual(model.source, server.url)
        let gets = server.requests.filter { $0.method == "GET" }
        XCTAssertGreaterThanOrEqual(gets.count, 2)
        XCTAssertTrue(gets.contains { $0.range == "bytes=\(blob.count / 2)-" }, "requests: \(server.requests)")
        XCTAssertEqual(progress.updates.last?.0, Int64(blob.count))
        XCTAssertEqual(files(in: store.partialDirectory), [], "partial/ is emptied on success")
        XCTAssertEqual(try store.list().map(\.name), ["tiny-model"])
        // A second pull is a no-op returning the same model.
        XCTAssertEqual(try store.pull(server.url).path, model.path)
        XCTAssertEqual(try store.resolve(server.url, pullIfMissing: false), model.path)
    }

    func testHTTPServerIgnoringRangeRestartsFromZero() throws {
        let blob = makeGGUFBlob(padding: 150_001)
        let server = try TestHTTPServer(blob: blob, mode: .dropFirstGetAndIgnoreRange)
        defer { server.stop() }
        let store = try makeStore()
        let model = try store.pull(server.url, as: "restarted")
        XCTAssertEqual(readFile(model.path), blob)
        XCTAssertTrue(server.requests.contains { $0.range != nil && $0.method == "GET" })
    }

    func testHTTPAlwaysDroppingServerFailsCleanly() throws {
        let blob = makeGGUFBlob()
        let server = try TestHTTPServer(blob: blob, mode: .alwaysDrop)
        defer { server.stop() }
        let store = try makeStore()
        assertStoreError([server.url, "failed after 4 attempts", "re-run to resume"]) {
            _ = try store.pull(server.url)
        }
        XCTAssertEqual(ggufFiles(store), [])
        XCTAssertEqual(files(in: store.modelsDirectory), [])
        XCTAssertEqual(files(in: store.partialDirectory).filter { $0.hasSuffix(".part") }.count, 1,
                       "the partial download is kept for a later resume")
    }

    func testHTTP404NamesURLAndStatus() throws {
        let server = try TestHTTPServer(blob: makeGGUFBlob(), mode: .notFound)
        defer { server.stop() }
        let store = try makeStore()
        assertStoreError([server.url, "HTTP 404"]) { _ = try store.pull(server.url) }
        XCTAssertEqual(ggufFiles(store), [])
    }

    func testHTTPDiskSpaceShortage() throws {
        let blob = makeGGUFBlob()
        let server = try TestHTTPServer(blob: blob, mode: .normal)
        defer { server.stop() }
        let store = try makeStore(freeBytes: { _ in 4096 })
        assertStoreError(["not enough disk space", store.root, "4096 bytes free", "need \(Int64(blob.count) + ModelStore.spaceMargin) bytes"]) {
            _ = try store.pull(server.url)
        }
        XCTAssertEqual(ggufFiles(store), [])
        XCTAssertFalse(server.requests.contains { $0.method == "GET" }, "no download starts without room")
    }

    // MARK: - Local files, atomicity, concurrency

    func testLocalPullListResolveRemove() throws {
        let store = try makeStore()
        let source = try makeTempDirectory(self) + "/My_Model.gguf"
        let blob = makeGGUFBlob()
        try writeFile(source, blob)

        let model = try store.pull(source)
        XCTAssertEqual(model.name, "my_model")
        XCTAssertEqual(readFile(model.path), blob)
        XCTAssertEqual(model.source, source)
        let manifest = try Manifest.read(store.manifestPath("my_model"))
        XCTAssertEqual(manifest.name, "my_model")
        XCTAssertEqual(manifest.size, Int64(blob.count))
        XCTAssertEqual(manifest.sha256, SHA256.hexDigest(of: blob))
        XCTAssertNotNil(ISO8601DateFormatter().date(from: manifest.pulledAt), manifest.pulledAt)

        _ = try store.pull(source, as: "a-copy")
        XCTAssertEqual(try store.list().map(\.name), ["a-copy", "my_model"])
        XCTAssertEqual(try store.list().first?.architecture, "llama")
        XCTAssertEqual(try store.resolve("my_model"), model.path)
        XCTAssertEqual(try store.resolve(source), source, "an existing file path resolves to itself")
        XCTAssertEqual(store.installedPath(of: "a-copy"), store.modelsDirectory + "/a-copy.gguf")

        try store.remove("my_model")
        XCTAssertNil(store.installedPath(of: "my_model"))
        XCTAssertEqual(try store.list().map(\.name), ["a-copy"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: store.manifestPath("my_model")))
    }

    func testNotGGUFIsRejectedAndLeavesNothing() throws {
        let store = try makeStore()
        let source = try makeTempDirectory(self) + "/fake.gguf"
        try writeFile(source, Array("this is not a model".utf8))
        assertStoreError([source, "is not a valid GGUF model"]) { _ = try store.pull(source) }
        XCTAssertEqual(files(in: store.modelsDirectory), [])
        XCTAssertEqual(files(in: store.partialDirectory), [])
    }

    func testSameNameFromDifferentSourceIsRefused() throws {
        let store = try makeStore()
        let dir = try makeTempDirectory(self)
        try writeFile(dir + "/a.gguf", makeGGUFBlob(padding: 10))
        try writeFile(dir + "/b.gguf", makeGGUFBlob(padding: 20))
        _ = try store.pull(dir + "/a.gguf", as: "m")
        assertStoreError(["\"m\" is already installed", dir + "/a.gguf", dir + "/b.gguf"]) {
            _ = try store.pull(dir + "/b.gguf", as: "m")
        }
    }

    func testConcurrentPullsOfSameSource() throws {
        let store = try makeStore()
        let source = try makeTempDirectory(self) + "/twin.gguf"
        let blob = makeGGUFBlob(padding: 3_000_000)
        try writeFile(source, blob)

        final class Collected: @unchecked Sendable {
            let lock = NSLock()
            var results: [Result<StoredModel, any Error>] = []
        }
        let collected = Collected()
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            let r = Result { try store.pull(source) }
            collected.lock.withLock { collected.results.append(r) }
        }
        let results = collected.results
        XCTAssertEqual(results.count, 4)
        for r in results {
            let model = try r.get()
            XCTAssertEqual(model.path, store.modelsDirectory + "/twin.gguf")
            XCTAssertEqual(model.sha256, SHA256.hexDigest(of: blob))
        }
        XCTAssertEqual(files(in: store.modelsDirectory), ["twin.gguf", "twin.json"])
        XCTAssertEqual(readFile(store.modelsDirectory + "/twin.gguf"), blob)
        XCTAssertEqual(try Manifest.read(store.manifestPath("twin")).size, Int64(blob.count))
        XCTAssertEqual(files(in: store.partialDirectory), [])
        let parsed = try GGUFFile(path: store.modelsDirectory + "/twin.gguf")
        XCTAssertEqual(parsed.metadata["general.architecture"]?.stringValue, "llama")
    }

    func testLocalPullDiskSpaceShortage() throws {
        let store = try makeStore(freeBytes: { _ in 1000 })
        let source = try makeTempDirectory(self) + "/big.gguf"
        try writeFile(source, makeGGUFBlob())
        assertStoreError(["not enough disk space in \(store.root)", "1000 bytes free", "need "]) {
            _ = try store.pull(source)
        }
        XCTAssertEqual(files(in: store.modelsDirectory), [])
    }

    func testCatalogPullChecksDiskSpaceBeforeRunningPip() throws {
        let store = try makeStore(freeBytes: { _ in 12345 })
        assertStoreError(["not enough disk space", "12345 bytes free"]) { _ = try store.pull("gemma3-270m") }
        XCTAssertEqual(files(in: store.modelsDirectory), [])
    }

    // MARK: - Names and references

    func testNameValidation() throws {
        let store = try makeStore()
        let source = try makeTempDirectory(self) + "/x.gguf"
        try writeFile(source, makeGGUFBlob(padding: 0))
        assertStoreError(["invalid model name \"../evil\""]) { _ = try store.pull(source, as: "../evil") }
        assertStoreError(["invalid model name \"../evil\""]) { try store.remove("../evil") }
        assertStoreError(["invalid model name \"Upper\"", "lowercase"]) { _ = try store.pull(source, as: "Upper") }
        assertStoreError(["invalid model name \".hidden\""]) { try ModelStore.validateName(".hidden") }
        assertStoreError(["invalid model name \"..\""]) { try ModelStore.validateName("..") }
        assertStoreError(["invalid model name \"m.gguf\""]) { try ModelStore.validateName("m.gguf") }
        assertStoreError(["invalid model name \"\""]) { try ModelStore.validateName("") }
        XCTAssertNoThrow(try ModelStore.validateName("qwen2.5-0.5b_instruct"))
        XCTAssertNil(store.installedPath(of: "../evil"))
        XCTAssertEqual(ggufFiles(store), [])
        XCTAssertEqual(ModelStore.derivedName(fromURL: "https://h/a/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf?download=true"),
                       "qwen2.5-0.5b-instruct-q4_k_m")
        XCTAssertEqual(ModelStore.derivedName(fromFileName: "My Model (v2).GGUF"), "my-model--v2-")
    }

    func testRemoveMissingModel() throws {
        let store = try makeStore()
        assertStoreError(["model \"ghost\" is not installed", "the store is empty"]) { try store.remove("ghost") }
    }

    func testResolveUnknownNameAndMissingFile() throws {
        let store = try makeStore()
        assertStoreError(["unknown model \"no-such-model\"", "smollm2-135m", "gemma3-270m"]) {
            _ = try store.resolve("no-such-model")
        }
        assertStoreError(["no such file: /nonexistent/dir/m.gguf"]) { _ = try store.resolve("/nonexistent/dir/m.gguf") }
        assertStoreError(["\"smollm2-135m\" is not installed"]) { _ = try store.resolve("smollm2-135m", pullIfMissing: false) }
    }

    func testDefaultRootUsesAtelierHome() {
        XCTAssertEqual(ModelStore(root: "/tmp/explicit").root, "/tmp/explicit")
        setenv("ATELIER_HOME", "/tmp/atelier-home-test", 1)
        defer { unsetenv("ATELIER_HOME") }
        XCTAssertEqual(ModelStore().root, "/tmp/atelier-home-test")
    }

    func testCatalog() {
        XCTAssertEqual(ModelCatalog.defaultModelName, "smollm2-135m")
        XCTAssertNotNil(ModelCatalog.entry(named: ModelCatalog.defaultModelName))
        for entry in ModelCatalog.entries {
            XCTAssertNoThrow(try ModelStore.validateName(entry.name))
            XCTAssertEqual(entry.sha256.count, 64)
        }
    }
}
