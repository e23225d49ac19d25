/// Pulling a Hugging Face repository: list its files, choose the GGUF file, download it with
/// the same resume and verification as any URL (size and, for LFS files, sha256 from the listing).
extension ModelStore {
    func pullFromHuggingFace(_ repository: HuggingFaceReference, as name: String?, progress: (any PullProgress)?) throws -> StoredModel {
        if let model = installedModel(repository, as: name) {
            progress?.message("\(model.name) is already installed at \(model.path)")
            return model
        }
        try ensureDirectories()
        progress?.message("Looking up \(repository.repoID) on \(hub.endpoint)…")
        let files = try hub.listFiles(repository, scratch: partialDirectory, policy: downloadPolicy)
        let file = try GGUFFileChoice.choose(from: files, quant: repository.quant, repo: repository.repoID)
        let url = hub.downloadURL(repository, file: file)
        let target = try name ?? ModelStore.validateName(ModelStore.huggingFaceName(repo: repository.repo, file: file))
        progress?.message("\(repository.repoID): \(file.path)\(file.size.map { " (\(formatMiB($0)))" } ?? "")")
        return try install(name: target, source: url, expectedSize: file.size, expectedSHA256: file.sha256, progress: progress) {
            try downloadURL(url, header: hub.authorizationHeader, progress: progress)
        }
    }

    /// The model a repository reference names when it is already here: stored under `name` (or the
    /// name the quantization asked for, Q4_K_M by default, gives) from a file of that repository.
    func installedModel(_ repository: HuggingFaceReference, as name: String?) -> StoredModel? {
        guard let model = storedModel(name ?? expectedName(repository)),
            model.source.hasPrefix(hub.downloadPrefix(repository))
        else { return nil }
        // Under a chosen name, another quantization of the same repository is not this one.
        if let quant = repository.quant, !model.source.lowercased().contains(quant.lowercased()) { return nil }
        return model
    }

    func expectedName(_ repository: HuggingFaceReference) -> String {
        ModelStore.huggingFaceName(repo: repository.repo, quant: repository.quant ?? GGUFFileChoice.defaultQuant)
    }

    /// The repository's name, lowercased and without a trailing "-GGUF", then "-" and the file's
    /// quantization: `bartowski/Qwen2.5-0.5B-Instruct-GGUF` + `…-Q4_K_M.gguf` → `qwen2.5-0.5b-instruct-q4_k_m`.
    /// A file name without a quantization gives the file's own name, as a URL pull would.
    static func huggingFaceName(repo: String, file: HuggingFaceFile) -> String {
        guard let quant = file.quantLabel else { return derivedName(fromFileName: file.fileName) }
        return huggingFaceName(repo: repo, quant: quant)
    }

    static func huggingFaceName(repo: String, quant: String) -> String {
        var base = derivedName(fromFileName: repo)
        for suffix in ["-gguf", "_gguf", ".gguf"] where base.hasSuffix(suffix) && base.count > suffix.count {
            base = String(base.dropLast(suffix.count))
        }
        let label = derivedName(fromFileName: quant)
        let name = base.hasSuffix(label) ? base : base + "-" + label
        return String(name.prefix(100))
    }
}
