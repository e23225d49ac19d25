import Compute

extension Workspace {
    /// The activation buffers a pre-norm decoder block needs for batches of `batchCapacity`
    /// tokens, plus `logitRows` rows of selected hidden states and logits.
    static func decoder(_ c: ModelConfiguration, backend: any ComputeBackend, batchCapacity n: Int, logitRows: Int) -> Workspace {
        let widths: [String: Int] = [
            "x": c.embeddingLength, "normed": c.embeddingLength, "hidden": c.embeddingLength, "projected": c.embeddingLength,
            "q": c.queryWidth, "k": c.kvWidth, "v": c.kvWidth, "attention": c.queryWidth,
            "gate": c.feedForwardLength, "up": c.feedForwardLength,
        ]
        var buffers = widths.mapValues { backend.makeMatrix(rows: n, columns: $0) }
        buffers["selected"] = backend.makeMatrix(rows: logitRows, columns: c.embeddingLength)
        buffers["logits"] = backend.makeMatrix(rows: logitRows, columns: c.vocabularySize)
        return Workspace(batchCapacity: n, logitRows: logitRows, buffers: buffers)
    }

    /// Logits for `rows` of the last batch: the final hidden states of those rows times `output`.
    func projectLogits(rows: Range<Int>, through output: Weight, on backend: any ComputeBackend) {
        let selected = self("selected", rows: rows.count)
        backend.copyRows(self("hidden", rows: batchCapacity), rows: rows, into: selected)
        backend.matmul(output, selected, into: self("logits", rows: rows.count))
    }
}
