import Models

/// One forward pass for all slots: every decoding slot's next token, then prompt chunks of the
/// slots still reading their prompts, as many rows as the workspace holds. Each weight is then
/// read once per step, not once per slot. Every backend operation computes a row as it would
/// alone (batch-invariant kernels and attention), so sharing a pass changes no result.
struct ForwardPass {
    /// Slots whose sampled token is row `i` of the pass, in row order.
    let decoding: [Slot]
    private(set) var tokens: [Int32]
    private(set) var spans: [SequenceSpan]
    private(set) var prompts: [(slot: Slot, chunk: [Int32], lastRow: Int)] = []

    /// `rowCapacity`: the workspace's rows; `prefillChunk`: the most prompt tokens of one slot.
    init(slots: [Slot], rowCapacity: Int, prefillChunk: Int) {
        decoding = slots.filter(\.isDecoding)
        tokens = decoding.map(\.nextToken)
        spans = decoding.enumerated().map { i, slot in
            SequenceSpan(rows: i..<(i + 1), cache: slot.cache, firstPosition: slot.sequence.position)
        }
        for slot in slots where slot.isReadingPrompt && tokens.count < rowCapacity {
            let chunk = Array(slot.pendingPrompt.prefix(min(prefillChunk, rowCapacity - tokens.count)))
            spans.append(
                SequenceSpan(rows: tokens.count..<(tokens.count + chunk.count), cache: slot.cache, firstPosition: slot.sequence.position))
            tokens += chunk
            prompts.append((slot, chunk, tokens.count - 1))
        }
    }

    /// Records, once the pass ran, that the prompt chunks are in the slots' caches; returns the
    /// slots whose prompt just ended, with the row of its last token (where the answer starts).
    func recordPromptChunks() -> [(slot: Slot, lastRow: Int)] {
        for (slot, chunk, _) in prompts {
            slot.pendingPrompt = slot.pendingPrompt.dropFirst(chunk.count)
            slot.sequence.append(chunk)
        }
        return prompts.filter { $0.slot.pendingPrompt.isEmpty }.map { ($0.slot, $0.lastRow) }
    }
}
