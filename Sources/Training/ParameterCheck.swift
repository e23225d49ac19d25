import Tokenizers

extension NamedWeights {
    /// The parameters of a model of shape `h`, in `h.parameterShapes` order, after checking that
    /// every one is present with its shape, none is extra and every value is finite (inference
    /// engines refuse non-finite weights, so the export does not write them).
    func ordered(for h: LlamaHyperparameters) throws -> [(name: String, entry: Entry)] {
        do { try h.validate() } catch { throw ExportError("cannot export: \(error)") }
        let expected = h.parameterShapes
        var ordered: [(name: String, entry: Entry)] = []
        for (name, shape) in expected {
            guard let entry = entries[name] else {
                throw ExportError("cannot export: tensor \(name) is missing (expected shape \(shape))")
            }
            guard entry.shape == shape else {
                throw ExportError("cannot export: tensor \(name) has shape \(entry.shape); expected \(shape)")
            }
            if let bad = entry.values.firstIndex(where: { !$0.isFinite }) {
                throw ExportError("cannot export: tensor \(name) holds \(entry.values[bad]) at index \(bad); expected finite values")
            }
            ordered.append((name, entry))
        }
        let known = Set(expected.map(\.name))
        if let extra = names.first(where: { !known.contains($0) }) {
            throw ExportError(
                "cannot export: tensor \(extra) is not a parameter of this model (tied embeddings: \(h.tiedEmbeddings), layers: \(h.layers))"
            )
        }
        return ordered
    }
}

extension BytePairVocabulary {
    func check(against h: LlamaHyperparameters) throws {
        guard count == h.vocabularySize else {
            throw ExportError("cannot export: the tokenizer has \(count) tokens but the model's vocabularySize is \(h.vocabularySize)")
        }
    }
}
