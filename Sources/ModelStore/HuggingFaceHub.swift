import CHTTP

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

/// Where Hugging Face repositories are listed and downloaded from, and the token sent along.
public struct HuggingFaceHub: Sendable, Equatable {
    /// Base URL without a trailing slash, e.g. `https://huggingface.co`.
    public let endpoint: String
    public let token: String?

    public init(endpoint: String = "https://huggingface.co", token: String? = nil) {
        var endpoint = endpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.endpoint = endpoint
        self.token = token.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `HF_ENDPOINT` and `HF_TOKEN`, the variables huggingface_hub reads.
    public static func fromEnvironment() -> HuggingFaceHub {
        let endpoint = POSIX.env("HF_ENDPOINT").flatMap { $0.isEmpty ? nil : $0 } ?? "https://huggingface.co"
        return HuggingFaceHub(endpoint: endpoint, token: POSIX.env("HF_TOKEN"))
    }

    var authorizationHeader: String? { token.map { "Authorization: Bearer " + $0 } }

    func listingURL(_ reference: HuggingFaceReference) -> String {
        endpoint + "/api/models/" + reference.repoID + "?blobs=true"
    }

    func downloadURL(_ reference: HuggingFaceReference, file: HuggingFaceFile) -> String {
        endpoint + "/" + reference.repoID + "/resolve/main/" + Self.percentEncodedPath(file.path)
    }

    /// The start every download URL of this repository shares (for recognising installed models).
    func downloadPrefix(_ reference: HuggingFaceReference) -> String {
        endpoint + "/" + reference.repoID + "/resolve/"
    }

    /// Lists the repository's files. The answer goes to an unlinked temporary file in `scratch`
    /// (so nothing is left behind, whatever happens) and is read back when it is at most 64 MiB.
    func listFiles(_ reference: HuggingFaceReference, scratch: String, policy: DownloadPolicy) throws -> [HuggingFaceFile] {
        let url = listingURL(reference)
        var template = Array((scratch + "/listing-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw StoreError.io(path: scratch, operation: "create a temporary file in", errno: errno) }
        defer { close(fd) }
        unlink(cString(Array(template)))

        var lastError = ""
        let attempts = max(1, min(policy.maxAttempts, 3))
        for attempt in 1...attempts {
            guard ftruncate(fd, 0) == 0 else { throw StoreError.io(path: scratch, operation: "truncate a temporary file in", errno: errno) }
            var status = 0, written: Int64 = 0
            var err = [CChar](repeating: 0, count: 512)
            let rc = atl_http_get(url, authorizationHeader, fd, 0, &status, &written, nil, nil, &err, err.count)
            lastError = cString(err)
            switch Int(rc) {
            case Int(ATL_HTTP_OK):
                return try HuggingFaceListing.decode(try readAll(fd, url: url), url: url)
            case Int(ATL_HTTP_NO_LIBCURL):
                throw StoreError.noLibcurl(lastError)
            case Int(ATL_HTTP_BAD_STATUS) where status == 404:
                throw StoreError.huggingFace(.repositoryNotFound(repo: reference.repoID, endpoint: endpoint))
            case Int(ATL_HTTP_BAD_STATUS) where status == 401 || status == 403:
                throw StoreError.huggingFace(
                    .notAuthorized(repo: reference.repoID, endpoint: endpoint, status: status, tokenSent: token != nil))
            case Int(ATL_HTTP_BAD_STATUS) where status < 500:
                throw StoreError.httpStatus(url: url, status: status)
            case Int(ATL_HTTP_WRITE_FAILED):
                throw StoreError.io(path: scratch, operation: "write a temporary file in", errno: errno == 0 ? EIO : errno)
            default:
                if attempt < attempts { sleepSeconds(min(policy.baseDelay * Double(attempt), 5)) }
            }
        }
        throw StoreError.network(url: url, attempts: attempts, detail: lastError, keptBytes: 0)
    }

    private func readAll(_ fd: Int32, url: String) throws -> Data {
        let size = try POSIX.fileSize(fd, path: url)
        let limit: Int64 = 64 << 20
        guard size <= limit else {
            throw StoreError.huggingFace(.badListing(url: url, detail: "\(size) bytes, more than the \(limit) a listing may have"))
        }
        guard size > 0 else { return Data() }
        var bytes = [UInt8](repeating: 0, count: Int(size))
        let n = try bytes.withUnsafeMutableBytes { try POSIX.preadFull(fd, $0.baseAddress!, Int(size), 0, path: url) }
        return Data(bytes.prefix(n))
    }

    /// Percent-encodes everything in a repository path but unreserved characters and '/'.
    static func percentEncodedPath(_ path: String) -> String {
        var out = ""
        for byte in path.utf8 {
            let unreserved =
                (byte >= 0x41 && byte <= 0x5a) || (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x2d || byte == 0x2e || byte == 0x5f || byte == 0x7e || byte == 0x2f
            if unreserved {
                out.append(Character(Unicode.Scalar(byte)))
            } else {
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 15)])
            }
        }
        return out
    }
}
