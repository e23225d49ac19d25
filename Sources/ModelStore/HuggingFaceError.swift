/// Why a Hugging Face reference could not be turned into one GGUF file.
public enum HuggingFaceError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidReference(String, reason: String)
    case repositoryNotFound(repo: String, endpoint: String)
    case notAuthorized(repo: String, endpoint: String, status: Int, tokenSent: Bool)
    case badListing(url: String, detail: String)
    case noGGUF(repo: String, fileCount: Int)
    case quantNotFound(repo: String, quant: String, available: [String])
    case noDefaultQuant(repo: String, available: [String])
    case splitNotSupported(repo: String, file: String)

    public var description: String {
        switch self {
        case .invalidReference(let reference, let reason):
            return "\"\(reference)\" is not a Hugging Face reference: \(reason) (expected hf.co/USER/REPO[:QUANT])"
        case .repositoryNotFound(let repo, let endpoint):
            return "Hugging Face repository \(repo) not found at \(endpoint) (HTTP 404); check USER/REPO"
        case .notAuthorized(let repo, let endpoint, let status, let tokenSent):
            let hint =
                tokenSent
                ? "HF_TOKEN was sent and refused; for a gated model, accept its license on the model page first"
                : "it does not exist, or it is private or gated: set HF_TOKEN to a token that can read it"
            return "Hugging Face repository \(repo) at \(endpoint) answered HTTP \(status): \(hint)"
        case .badListing(let url, let detail):
            return "\(url): unexpected file listing (\(detail)); expected JSON with siblings[].rfilename"
        case .noGGUF(let repo, let fileCount):
            return "Hugging Face repository \(repo) has no .gguf file (\(fileCount) files); Atelier runs GGUF models only"
        case .quantNotFound(let repo, let quant, let available):
            return "Hugging Face repository \(repo) has no GGUF file for quantization \"\(quant)\"; available: \(list(available))"
        case .noDefaultQuant(let repo, let available):
            return "Hugging Face repository \(repo) has several GGUF files and none of the usual quantizations; "
                + "choose one with \(repo):QUANT, available: \(list(available))"
        case .splitNotSupported(let repo, let file):
            return "\(repo): \(file) is split into several GGUF files (-00001-of-0000N), which Atelier cannot load yet; "
                + "choose another quantization or merge the parts with llama-gguf-split --merge and pull the merged file"
        }
    }

    private func list(_ items: [String]) -> String { items.isEmpty ? "none" : items.joined(separator: ", ") }
}
