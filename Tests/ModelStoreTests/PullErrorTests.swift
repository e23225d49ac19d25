import Foundation
import Testing

@testable import ModelStore

/// What a failed pull says and leaves behind.
@Suite struct PullErrorTests {
    let scratch = TemporaryDirectories()

    func makeStore() throws -> ModelStore {
        ModelStore(
            root: try scratch.make() + "/home", freeBytes: { _ in Int64.max / 2 },
            downloadPolicy: DownloadPolicy(maxAttempts: 3, baseDelay: 0.01))
    }

    @Test func refusedConnectionPromisesNoResume() throws {
        let store = try makeStore()
        let url = "http://127.0.0.1:\(try refusingPort())/m.gguf"
        let message = errorText { _ = try store.pull(url) }
        #expect(message.hasPrefix("downloading \(url) failed after 3 attempts: "), "\(message)")
        #expect(!message.contains("resume"), "\(message)")
        #expect(files(in: store.partialDirectory) == [])
    }

    /// Half the file arrives, then every retry fails: the partial is kept and the error says how
    /// much; the re-run asks for the rest only.
    @Test func interruptedDownloadKeepsItsBytesAndResumes() throws {
        let blob = makeGGUFBlob()
        let server = try TestHTTPServer(blob: blob, mode: .halfThenAlwaysDrop)
        defer { server.stop() }
        let store = try makeStore()
        let half = blob.count / 2
        expectStoreError([server.url, "the partial download, \(half) bytes, is kept; re-run to resume"]) {
            _ = try store.pull(server.url)
        }
        let partials = files(in: store.partialDirectory)
        #expect(partials.count == 2 && partials.allSatisfy { $0.hasPrefix(SHA256.hexDigest(of: Array(server.url.utf8))) }, "\(partials)")
        let sidecar = partials.first { $0.hasSuffix(".part.url") }.flatMap { readFile(store.partialDirectory + "/" + $0) }
        #expect(sidecar == Array((server.url + "\n").utf8), "the partial's URL is noted beside it")

        server.mode = .normal
        let model = try store.pull(server.url)
        #expect(readFile(model.path) == blob)
        #expect(server.requests.last?.range == "bytes=\(half)-")
        #expect(files(in: store.partialDirectory) == [])
    }

    @Test func specialFilesAreNamedForWhatTheyAre() throws {
        let store = try makeStore()
        expectStoreError(["/dev/zero is not a regular file (it is a character device)"]) { _ = try store.pull("/dev/zero") }
        let directory = try scratch.make()
        expectStoreError(["\(directory) is not a regular file (it is a directory)"]) { _ = try store.pull(directory) }
        let fifo = directory + "/pipe.gguf"
        #expect(mkfifo(fifo, 0o644) == 0)
        expectStoreError(["\(fifo) is not a regular file (it is a named pipe)"]) { _ = try store.pull(fifo) }
        expectStoreError(["\(fifo) is not a regular file"]) { _ = try store.resolve(fifo) }
        expectStoreError(["no such file: \(directory)/missing.gguf"]) { _ = try store.pull(directory + "/missing.gguf") }
        #expect(files(in: store.modelsDirectory) == [])
    }

    /// A truncated model: the error names the user's file and the field, never the store's temporary copy.
    @Test func badLocalFileErrorNamesTheSource() throws {
        let store = try makeStore()
        let source = try scratch.make() + "/broken.gguf"
        try writeFile(source, Array(makeGGUFBlob(padding: 0).prefix(30)))
        let message = errorText { _ = try store.pull(source) }
        #expect(message.hasPrefix("\(source) is not a valid GGUF model: "), "\(message)")
        #expect(message.contains("at byte"), "\(message)")
        #expect(!message.contains("partial") && !message.contains(".tmp"), "\(message)")
        #expect(files(in: store.partialDirectory) == [])
    }

    @Test func detailOfAnErrorReplacesTheTemporaryPath() {
        struct Failure: Error, CustomStringConvertible { var description: String }
        let detail = ModelStore.detail(
            of: Failure(description: "cannot read /s/partial/m.copy.tmp: I/O error"), readFrom: "/s/partial/m.copy.tmp",
            standingFor: "/home/me/m.gguf")
        #expect(detail == "cannot read /home/me/m.gguf: I/O error")
    }
}
