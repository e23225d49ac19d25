import Foundation
import Testing

@testable import ModelStore

/// Hugging Face references against the local server, which answers the Hub's paths: the listing
/// `GET /api/models/USER/REPO?blobs=true` and the file `GET /USER/REPO/resolve/main/FILE`.
@Suite struct HuggingFaceTests {
    let scratch = TemporaryDirectories()
    static let listingPath = "/api/models/test-user/Tiny-GGUF?blobs=true"
    static let filePath = "/test-user/Tiny-GGUF/resolve/main/tiny-Q4_K_M.gguf"

    /// A listing as the Hub writes it: non-GGUF files, a projector, a split quantization, and
    /// `tiny-Q4_K_M.gguf` (the blob, with its LFS size and sha256 unless `sha256` overrides it).
    static func listing(blob: [UInt8], sha256: String? = nil) -> [UInt8] {
        let sha = sha256 ?? SHA256.hexDigest(of: blob)
        let json = """
            {"_id":"x","id":"test-user/Tiny-GGUF","siblings":[
              {"rfilename":".gitattributes","blobId":"a","size":1519},
              {"rfilename":"README.md","blobId":"b","size":120},
              {"rfilename":"mmproj-tiny-Q4_K_M.gguf","blobId":"c","size":5000,"lfs":{"sha256":"\(String(repeating: "1", count: 64))","size":5000,"pointerSize":132}},
              {"rfilename":"tiny-Q8_0.gguf","blobId":"d","size":900,"lfs":{"sha256":"\(String(repeating: "2", count: 64))","size":900,"pointerSize":132}},
              {"rfilename":"tiny-Q4_K_M.gguf","blobId":"e","size":\(blob.count),"lfs":{"sha256":"\(sha)","size":\(blob.count),"pointerSize":133}},
              {"rfilename":"Q2_K/tiny-Q2_K-00001-of-00002.gguf","blobId":"f","size":10},
              {"rfilename":"Q2_K/tiny-Q2_K-00002-of-00002.gguf","blobId":"g","size":10}
            ]}
            """
        return Array(json.utf8)
    }

    func serve(_ blob: [UInt8], mode: TestHTTPServer.Mode = .normal, sha256: String? = nil) throws -> TestHTTPServer {
        try TestHTTPServer(
            blob: blob, mode: mode, blobPath: Self.filePath, pages: [Self.listingPath: Self.listing(blob: blob, sha256: sha256)])
    }

    func makeStore(_ server: TestHTTPServer, token: String? = nil) throws -> ModelStore {
        ModelStore(
            root: try scratch.make() + "/home", freeBytes: { _ in Int64.max / 2 },
            downloadPolicy: DownloadPolicy(maxAttempts: 3, baseDelay: 0.01),
            hub: HuggingFaceHub(endpoint: server.base + "/", token: token))
    }

    // MARK: - Against the local Hub

    @Test func pullPicksQ4KMByDefaultAndVerifies() throws {
        let blob = makeGGUFBlob()
        let server = try serve(blob)
        defer { server.stop() }
        let store = try makeStore(server)
        let model = try store.pull("hf.co/test-user/Tiny-GGUF")
        #expect(model.name == "tiny-q4_k_m")
        #expect(model.source == server.base + Self.filePath)
        #expect(readFile(model.path) == blob)
        #expect(model.sha256 == SHA256.hexDigest(of: blob))
        #expect(server.requests.first?.path == Self.listingPath)
        #expect(server.requests.allSatisfy { $0.authorization == nil }, "no token, no Authorization header")
        #expect(files(in: store.partialDirectory) == [])

        // Installed: every spelling of the reference finds it without asking the server again.
        server.stop()
        let before = server.requests.count
        for reference in [
            "hf.co/test-user/Tiny-GGUF", "huggingface.co/test-user/Tiny-GGUF:Q4_K_M", "https://huggingface.co/test-user/Tiny-GGUF:q4_k_m",
            "test-user/Tiny-GGUF:Q4_K_M", "test-user/Tiny-GGUF",
        ] {
            #expect(try store.resolve(reference, pullIfMissing: false) == model.path, "\(reference)")
            #expect(try store.pull(reference).path == model.path, "\(reference)")
        }
        #expect(server.requests.count == before)
    }

    @Test func quantTagIsMatchedCaseInsensitivelyAndDownloadResumes() throws {
        let blob = makeGGUFBlob(padding: 300_000)
        let server = try serve(blob, mode: .dropFirstGetHalfway)
        defer { server.stop() }
        let store = try makeStore(server)
        let model = try store.pull("https://huggingface.co/test-user/Tiny-GGUF:q4_k_m", as: "tiny")
        #expect(model.name == "tiny")
        #expect(readFile(model.path) == blob)
        #expect(server.requests.contains { $0.method == "GET" && $0.range == "bytes=\(blob.count / 2)-" }, "\(server.requests)")
    }

    @Test func tokenIsSentAsBearer() throws {
        let blob = makeGGUFBlob(padding: 100)
        let server = try serve(blob)
        defer { server.stop() }
        let store = try makeStore(server, token: "hf_secret")
        _ = try store.pull("test-user/Tiny-GGUF:Q4_K_M")
        #expect(!server.requests.isEmpty)
        #expect(server.requests.allSatisfy { $0.authorization == "Bearer hf_secret" }, "\(server.requests)")
    }

    @Test func sha256FromTheListingIsChecked() throws {
        let blob = makeGGUFBlob(padding: 100)
        let wrong = String(repeating: "ab", count: 32)
        let server = try serve(blob, sha256: wrong)
        defer { server.stop() }
        let store = try makeStore(server)
        expectStoreError([server.base + Self.filePath, "sha256 mismatch, expected \(wrong), got \(SHA256.hexDigest(of: blob))"]) {
            _ = try store.pull("hf.co/test-user/Tiny-GGUF")
        }
        #expect(files(in: store.modelsDirectory) == [])
        #expect(files(in: store.partialDirectory) == [])
    }

    @Test func errorTexts() throws {
        let server = try serve(makeGGUFBlob(padding: 10))
        defer { server.stop() }
        let store = try makeStore(server)
        expectStoreError(["Hugging Face repository test-user/Nope not found at \(server.base) (HTTP 404)"]) {
            _ = try store.pull("hf.co/test-user/Nope")
        }
        expectStoreError([
            "test-user/Tiny-GGUF has no GGUF file for quantization \"Q3_K_S\"", "available: Q2_K (split), Q4_K_M, Q8_0",
        ]) {
            _ = try store.pull("hf.co/test-user/Tiny-GGUF:Q3_K_S")
        }
        expectStoreError(["Q2_K/tiny-Q2_K-00001-of-00002.gguf is split into several GGUF files", "cannot load yet"]) {
            _ = try store.pull("hf.co/test-user/Tiny-GGUF:Q2_K")
        }
        expectStoreError(["\"hf.co/test-user\" is not a Hugging Face reference", "expected hf.co/USER/REPO[:QUANT]"]) {
            _ = try store.pull("hf.co/test-user")
        }
        expectStoreError(["model \"tiny-q8_0\" is not installed"]) {
            _ = try store.resolve("hf.co/test-user/Tiny-GGUF:Q8_0", pullIfMissing: false)
        }
        #expect(files(in: store.modelsDirectory) == [])
        #expect(files(in: store.partialDirectory) == [], "the listing leaves no file behind")
    }

    /// HF_ENDPOINT and HF_TOKEN are read in a child process: setting them here would redirect the
    /// Hugging Face pulls of every test running alongside.
    @Test func environmentSetsEndpointAndToken() async {
        #expect(HuggingFaceHub.fromEnvironment().endpoint.hasPrefix("http"))
        let child = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
            setenv("HF_ENDPOINT", "http://127.0.0.1:9/mirror/", 1)
            setenv("HF_TOKEN", "hf_abc", 1)
            let hub = ModelStore(root: "/tmp/unused").hub
            if hub != HuggingFaceHub(endpoint: "http://127.0.0.1:9/mirror", token: "hf_abc")
                || hub.authorizationHeader != "Authorization: Bearer hf_abc"
            {
                FileHandle.standardError.write(Data("HF_ENDPOINT/HF_TOKEN gave \(hub)\n".utf8))
                exit(1)
            }
        }
        #expect(child?.standardErrorContent.isEmpty == true)
    }

    // MARK: - References, choice and names

    @Test func referencesAreRecognised() throws {
        let repo = HuggingFaceReference.self
        func hf(_ text: String) throws -> HuggingFaceReference? {
            if case .huggingFace(let r) = try Reference(text) { return r }
            return nil
        }
        let expected = try repo.init(path: "bartowski/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M", original: "")
        #expect(expected.user == "bartowski" && expected.repo == "Qwen2.5-0.5B-Instruct-GGUF" && expected.quant == "Q4_K_M")
        for text in [
            "hf.co/bartowski/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M", "huggingface.co/bartowski/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M",
            "https://huggingface.co/bartowski/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M",
            "HTTPS://HF.co/bartowski/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M/",
            "bartowski/Qwen2.5-0.5B-Instruct-GGUF:Q4_K_M",
        ] {
            #expect(try hf(text) == expected, "\(text)")
        }
        #expect(try hf("no-such-user-dir/SomeRepo")?.quant == nil, "bare USER/REPO when USER is not a local directory")
        // A file URL stays a URL; a file page (blob) means its download URL.
        #expect(try Reference("https://huggingface.co/u/r/resolve/main/m.gguf") == .url("https://huggingface.co/u/r/resolve/main/m.gguf"))
        #expect(try Reference("https://huggingface.co/u/r/blob/main/d/m.gguf") == .url("https://huggingface.co/u/r/resolve/main/d/m.gguf"))
        #expect(try Reference("https://example.com/u/r") == .url("https://example.com/u/r"))
        // Whatever could be a local path is one.
        let directory = try scratch.make()
        expectStoreError(["no such file: \(directory)/r"]) { _ = try Reference(directory + "/r") }
        expectStoreError(["no such file: Sources/Repo"], { _ = try Reference("Sources/Repo") })  // ./Sources exists
        expectStoreError(["no such file: ./u/r:Q4_K_M"]) { _ = try Reference("./u/r:Q4_K_M") }
        expectStoreError(["no such file: u/r.gguf"]) { _ = try Reference("u/r.gguf") }
        #expect(try Reference("smollm2-135m") == .name("smollm2-135m"))
        expectStoreError(["repository \"-bad\""]) { _ = try Reference("hf.co/u/-bad") }
        expectStoreError(["quantization \"\""]) { _ = try Reference("hf.co/u/r:") }
    }

    @Test func fileChoice() throws {
        func files(_ paths: [String]) -> [HuggingFaceFile] { paths.map { HuggingFaceFile(path: $0, size: nil, sha256: nil) } }
        func choose(_ paths: [String], _ quant: String?) throws -> String {
            try GGUFFileChoice.choose(from: files(paths), quant: quant, repo: "u/r").path
        }
        let repo = ["m-Q4_K_S.gguf", "m-Q4_K_M.gguf", "m-IQ4_XS.gguf", "m-Q8_0.gguf", "m-F16.gguf"]
        #expect(try choose(repo, nil) == "m-Q4_K_M.gguf")
        #expect(try choose(repo, "q8_0") == "m-Q8_0.gguf")
        #expect(try choose(repo, "Q4_XS") == "m-IQ4_XS.gguf", "not a whole token: any name that contains it")
        #expect(try choose(repo, "Q4_K") == "m-Q4_K_M.gguf", "two names contain it: the first of the shortest")
        #expect(try choose(["m-Q8_0.gguf", "m-Q5_K_M.gguf", "m-Q6_K.gguf"], nil) == "m-Q5_K_M.gguf", "the fallback order")
        #expect(try choose(["model.gguf", "mmproj-model-f16.gguf"], nil) == "model.gguf", "the only model file")
        #expect(try choose(["m-Q4_K_M-00001-of-00002.gguf", "m-Q4_K_M-00002-of-00002.gguf", "m-Q8_0.gguf"], nil) == "m-Q8_0.gguf")
        expectStoreError(["has several GGUF files", "available: a.gguf, b.gguf"]) { _ = try choose(["b.gguf", "a.gguf"], nil) }
        expectStoreError(["u/r has no .gguf file (2 files)"]) { _ = try choose(["config.json", "model.safetensors"], nil) }
        expectStoreError(["u/r has no .gguf file (1 files)"]) { _ = try choose(["mmproj-F16.gguf"], nil) }
        #expect(GGUFFileChoice.containsToken("m-Q4_K_M.gguf", "Q4_K_M") && !GGUFFileChoice.containsToken("m-Q4_K_M.gguf", "Q4_K"))
    }

    @Test func storedNames() {
        func name(_ repo: String, _ file: String) -> String {
            ModelStore.huggingFaceName(repo: repo, file: HuggingFaceFile(path: file, size: nil, sha256: nil))
        }
        #expect(name("Qwen2.5-0.5B-Instruct-GGUF", "Qwen2.5-0.5B-Instruct-Q4_K_M.gguf") == "qwen2.5-0.5b-instruct-q4_k_m")
        #expect(name("gemma-3-270m-it-GGUF", "gemma-3-270m-it-UD-Q4_K_XL.gguf") == "gemma-3-270m-it-q4_k_xl")
        #expect(name("TinyLlama-1.1B-Chat-v1.0-GGUF", "tinyllama-1.1b-chat-v1.0.Q8_0.gguf") == "tinyllama-1.1b-chat-v1.0-q8_0")
        #expect(name("SmolLM2-135M-Instruct-Q8_0-GGUF", "smollm2-135m-instruct-q8_0.gguf") == "smollm2-135m-instruct-q8_0")
        #expect(name("some-repo", "Model.gguf") == "model", "no quantization in the name: the file's own name")
        #expect(HuggingFaceHub.percentEncodedPath("dir/a b+c.gguf") == "dir/a%20b%2Bc.gguf")
    }
}
