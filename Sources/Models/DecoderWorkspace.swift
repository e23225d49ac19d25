import Compute

extension Workspace {
    /// The activation buffers a pre-norm decoder block needs for batches of `batchCapacity`
    /// tokens, plus `logitRows` rows of selected hidden states and logits, plus `extra` buffers
    /// (name → columns per batch row: LoRA intermediates).
    static func decoder(
        _ c: ModelConfiguration, backend: any ComputeBackend, batchCapacity n: Int, logitRows: Int, extra: [String: Int] = [:]
    ) -> Workspace {
        var widths: [String: Int] = [
            "x": c.embeddingLength, "normed": c.embeddingLength, "hidden": c.embeddingLength, "projected": c.embeddingLength,
            "q": c.queryWidth, "k": c.kvWidth, "v": c.kvWidth, "attention": c.queryWidth,
            "gate": c.feedForwardLength, "up": c.feedForwardLength,
        ]
        widths.merge(extra) { _, added in added }
        var buffers = widths.mapValues { backend.makeMatrix(rows: n, columns: $0) }
        buffers["selected"] = backend.makeMatrix(rows: logitRows, columns: c.embeddingLength)
        buffers["logits"] = backend.makeMatrix(rows: logitRows, columns: c.vocabularySize)
        return Workspace(batchCapacity: n, logitRows: logitRows, buffers: buffers)
    }

    /// Logits for `rows` of the last batch: the final hidden states of those rows, gathered in the
    /// order given, times `output` — one pass over the output matrix however the rows lie.
    func projectLogits(rows: [Int], through output: Weight, on backend: any ComputeBackend) {
        let selected = self("selected", rows: rows.count), hidden = self("hidden", rows: batchCapacity)
        var start = 0
        while start < rows.count {
            // A run of consecutive rows is one copy.
            var end = start + 1
            while end < rows.count, rows[end] == rows[end - 1] + 1 { end += 1 }
            backend.copyRows(hidden, rows: rows[start]..<(rows[start] + end - start), into: selected.rows(start..<end))
            start = end
        }
        backend.matmul(output, selected, into: self("logits", rows: rows.count))
    }
}
