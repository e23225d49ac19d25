import Foundation
import GGUF
import Testing

@testable import ModelStore

@Suite struct ModelStoreTests {
    let scratch = TemporaryDirectories()

    /// Store in a fresh temp directory with fast retries (never the user's real store).
    func makeStore(freeBytes: (@Sendable (String) throws -> Int64)? = nil) throws -> ModelStore {
        let root = try scratch.make() + "/home"
        return ModelStore(
            root: root, freeBytes: freeBytes ?? { _ in Int64.max / 2 },
            downloadPolicy: DownloadPolicy(maxAttempts: 4, baseDelay: 0.01))
    }

    func ggufFiles(_ store: ModelStore) -> [String] {
        files(in: store.modelsDirectory).filter { $0.hasSuffix(".gguf") }
    }

    // MARK: - HTTP

    @Test func httpPullResumesAfterDroppedConnection() throws {
        let blob = makeGGUFBlob()
        let server = try TestHTTPServer(blob: blob, mode: .dropFirstGetHalfway)
        defer { server.stop() }
        let store = try makeStore()
        let progress = RecordingProgress()
        let model = try store.pull(server.url, progress: progress)

        #expect(model.name == "tiny-model")
        #expect(model.path == store.modelsDirectory + "/tiny-model.gguf")
        #expect(readFile(model.path) == blob)
        #expect(model.sizeBytes == Int64(blob.count))
        #expect(model.sha256 == SHA256.hexDigest(of: blob))
        #expect(model.architecture == "llama")
        #expect(model.quantization == "Q4_1")
        #expect(model.source == server.url)
        let gets = server.requests.filter { $0.method == "GET" }
        #expect(gets.count >= 2)
        #expect(gets.contains { $0.range == "bytes=\(blob.count / 2)-" }, "requests: \(server.requests)")
        #expect(progress.updates.last?.0 == Int64(blob.count))
        #expect(files(in: store.partialDirectory) == [], "partial/ is emptied on success")
        #expect(try store.list().map(\.name) == ["tiny-model"])
        // A second pull is a no-op returning the same model.
        #expect(try store.pull(server.url).path == model.path)
        #expect(try store.resolve(server.url, pullIfMissing: false) == model.path)
    }

    @Test func httpServerIgnoringRangeRestartsFromZero() throws {
        let blob = makeGGUFBlob(padding: 150_001)
        let server = try TestHTTPServer(blob: blob, mode: .dropFirstGetAndIgnoreRange)
        defer { server.stop() }
        let store = try makeStore()
        let model = try store.pull(server.url, as: "restarted")
        #expect(readFile(model.path) == blob)
        #expect(server.requests.contains { $0.range != nil && $0.method == "GET" })
    }

    @Test func httpAlwaysDroppingServerFailsCleanly() throws {
        let blob = makeGGUFBlob()
        let server = try TestHTTPServer(blob: blob, mode: .alwaysDrop)
        defer { server.stop() }
        let store = try makeStore()
        expectStoreError([server.url, "failed after 4 attempts"]) { _ = try store.pull(server.url) }
        #expect(!(errorText { _ = try store.pull(server.url) }.contains("resume")), "no byte arrived, so nothing can be resumed")
        #expect(ggufFiles(store) == [])
        #expect(files(in: store.modelsDirectory) == [])
        #expect(files(in: store.partialDirectory) == [], "an empty partial and its URL note are not kept")
    }

    @Test func http404NamesURLAndStatus() throws {
        let server = try TestHTTPServer(blob: makeGGUFBlob(), mode: .notFound)
        defer { server.stop() }
        let store = try makeStore()
        expectStoreError([server.url, "HTTP 404"]) { _ = try store.pull(server.url) }
        #expect(ggufFiles(store) == [])
    }

    @Test func httpDiskSpaceShortage() throws {
        let blob = makeGGUFBlob()
        let server = try TestHTTPServer(blob: blob, mode: .normal)
        defer { server.stop() }
        let store = try makeStore(freeBytes: { _ in 4096 })
        expectStoreError([
            "not enough disk space", store.root, "4096 bytes free", "need \(Int64(blob.count) + ModelStore.spaceMargin) bytes",
        ]) {
            _ = try store.pull(server.url)
        }
        #expect(ggufFiles(store) == [])
        #expect(!server.requests.contains { $0.method == "GET" }, "no download starts without room")
    }

    // MARK: - Local files, atomicity, concurrency

    /// `atelier run X` opens a chat when X reads as a model by `resolve`'s rules, and continues X as
    /// a prompt otherwise.
    @Test func recognizesModelsNotText() throws {
        let store = try makeStore()
        let source = try scratch.make() + "/mine.gguf"
        try writeFile(source, makeGGUFBlob())
        _ = try store.pull(source, as: "stored-one")
        for model in [
            "smollm2-135m", "stored-one", source, "missing.gguf", "https://example.com/m.gguf", "hf.co/user/repo:Q4_K_M",
            "user/repo:Q8_0", "hf.co/not/a/repo",
        ] {
            #expect(store.recognizes(model), "\(model)")
        }
        for text in ["", "Hello", "stored-two", "The capital of France is", "hello world.gguf"] {
            #expect(!store.recognizes(text), "\(text)")
        }
    }

    @Test func localPullListResolveRemove() throws {
        let store = try makeStore()
        let source = try scratch.make() + "/My_Model.gguf"
        let blob = makeGGUFBlob()
        try writeFile(source, blob)

        let model = try store.pull(source)
        #expect(model.name == "my_model")
        #expect(readFile(model.path) == blob)
        #expect(model.source == source)
        let manifest = try Manifest.read(store.manifestPath("my_model"))
        #expect(manifest.name == "my_model")
        #expect(manifest.size == Int64(blob.count))
        #expect(manifest.sha256 == SHA256.hexDigest(of: blob))
        #expect(ISO8601DateFormatter().date(from: manifest.pulledAt) != nil, "\(manifest.pulledAt)")

        _ = try store.pull(source, as: "a-copy")
        #expect(try store.list().map(\.name) == ["a-copy", "my_model"])
        #expect(try store.list().first?.architecture == "llama")
        #expect(try store.resolve("my_model") == model.path)
        #expect(try store.resolve(source) == source, "an existing file path resolves to itself")
        #expect(store.installedPath(of: "a-copy") == store.modelsDirectory + "/a-copy.gguf")

        try store.remove("my_model")
        #expect(store.installedPath(of: "my_model") == nil)
        #expect(try store.list().map(\.name) == ["a-copy"])
        #expect(!FileManager.default.fileExists(atPath: store.manifestPath("my_model")))
    }

    @Test func notGGUFIsRejectedAndLeavesNothing() throws {
        let store = try makeStore()
        let source = try scratch.make() + "/fake.gguf"
        try writeFile(source, Array("this is not a model".utf8))
        expectStoreError([source, "is not a valid GGUF model"]) { _ = try store.pull(source) }
        #expect(files(in: store.modelsDirectory) == [])
        #expect(files(in: store.partialDirectory) == [])
    }

    @Test func sameNameFromDifferentSourceIsRefused() throws {
        let store = try makeStore()
        let dir = try scratch.make()
        try writeFile(dir + "/a.gguf", makeGGUFBlob(padding: 10))
        try writeFile(dir + "/b.gguf", makeGGUFBlob(padding: 20))
        _ = try store.pull(dir + "/a.gguf", as: "m")
        expectStoreError(["\"m\" is already installed", dir + "/a.gguf", dir + "/b.gguf"]) {
            _ = try store.pull(dir + "/b.gguf", as: "m")
        }
    }

    @Test func concurrentPullsOfSameSource() throws {
        let store = try makeStore()
        let source = try scratch.make() + "/twin.gguf"
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
        #expect(results.count == 4)
        for r in results {
            let model = try r.get()
            #expect(model.path == store.modelsDirectory + "/twin.gguf")
            #expect(model.sha256 == SHA256.hexDigest(of: blob))
        }
        #expect(files(in: store.modelsDirectory) == ["twin.gguf", "twin.json"])
        #expect(readFile(store.modelsDirectory + "/twin.gguf") == blob)
        #expect(try Manifest.read(store.manifestPath("twin")).size == Int64(blob.count))
        #expect(files(in: store.partialDirectory) == [])
        let parsed = try GGUFFile(path: store.modelsDirectory + "/twin.gguf")
        #expect(parsed.metadata["general.architecture"]?.stringValue == "llama")
    }

    @Test func localPullDiskSpaceShortage() throws {
        let store = try makeStore(freeBytes: { _ in 1000 })
        let source = try scratch.make() + "/big.gguf"
        try writeFile(source, makeGGUFBlob())
        expectStoreError(["not enough disk space in \(store.root)", "1000 bytes free", "need "]) {
            _ = try store.pull(source)
        }
        #expect(files(in: store.modelsDirectory) == [])
    }

    @Test func catalogPullChecksDiskSpaceBeforeRunningPip() throws {
        let store = try makeStore(freeBytes: { _ in 12345 })
        expectStoreError(["not enough disk space", "12345 bytes free"]) { _ = try store.pull("gemma3-270m") }
        #expect(files(in: store.modelsDirectory) == [])
    }

    // MARK: - Names and references

    @Test func nameValidation() throws {
        let store = try makeStore()
        let source = try scratch.make() + "/x.gguf"
        try writeFile(source, makeGGUFBlob(padding: 0))
        expectStoreError(["invalid model name \"../evil\""]) { _ = try store.pull(source, as: "../evil") }
        expectStoreError(["invalid model name \"../evil\""]) { try store.remove("../evil") }
        expectStoreError(["invalid model name \"Upper\"", "lowercase"]) { _ = try store.pull(source, as: "Upper") }
        expectStoreError(["invalid model name \".hidden\""]) { try ModelStore.validateName(".hidden") }
        expectStoreError(["invalid model name \"..\""]) { try ModelStore.validateName("..") }
        expectStoreError(["invalid model name \"m.gguf\""]) { try ModelStore.validateName("m.gguf") }
        expectStoreError(["invalid model name \"\""]) { try ModelStore.validateName("") }
        #expect(throws: Never.self) { try ModelStore.validateName("qwen2.5-0.5b_instruct") }
        #expect(store.installedPath(of: "../evil") == nil)
        #expect(ggufFiles(store) == [])
        #expect(
            ModelStore.derivedName(fromURL: "https://h/a/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf?download=true")
                == "qwen2.5-0.5b-instruct-q4_k_m")
        #expect(ModelStore.derivedName(fromFileName: "My Model (v2).GGUF") == "my-model--v2-")
    }

    @Test func removeMissingModel() throws {
        let store = try makeStore()
        expectStoreError(["model \"ghost\" is not installed", "the store is empty"]) { try store.remove("ghost") }
    }

    @Test func resolveUnknownNameAndMissingFile() throws {
        let store = try makeStore()
        expectStoreError(["unknown model \"no-such-model\"", "smollm2-135m", "gemma3-270m"]) {
            _ = try store.resolve("no-such-model")
        }
        expectStoreError(["no such file: /nonexistent/dir/m.gguf"]) { _ = try store.resolve("/nonexistent/dir/m.gguf") }
        expectStoreError(["\"smollm2-135m\" is not installed"]) { _ = try store.resolve("smollm2-135m", pullIfMissing: false) }
    }

    /// Setting ATELIER_HOME in this process would move the store under every test running
    /// alongside that opens the real one, so the variable is set in a child process.
    @Test func defaultRootUsesAtelierHome() async {
        #expect(ModelStore(root: "/tmp/explicit").root == "/tmp/explicit")
        let child = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            setenv("ATELIER_HOME", "/tmp/atelier-home-test", 1)
            let root = ModelStore().root
            if root != "/tmp/atelier-home-test" {
                FileHandle.standardError.write(Data("with ATELIER_HOME=/tmp/atelier-home-test the store's root is \(root)\n".utf8))
                exit(1)
            }
        }
        #expect(child?.standardErrorContent.isEmpty == true, "\(String(decoding: child?.standardErrorContent ?? [], as: UTF8.self))")
    }

    @Test func catalog() {
        #expect(ModelCatalog.defaultModelName == "smollm2-135m")
        #expect(ModelCatalog.entry(named: ModelCatalog.defaultModelName) != nil)
        for entry in ModelCatalog.entries {
            #expect(throws: Never.self) { try ModelStore.validateName(entry.name) }
            #expect(entry.sha256.count == 64)
        }
    }
}
