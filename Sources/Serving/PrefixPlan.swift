import Compute
import Models

/// Where a queued prompt's already-evaluated prefix comes from. The free slot that shares the most
/// of it keeps that much of its own cache; when another slot (busy or free) holds more, that slot's
/// cells are copied instead, so concurrent requests with one system prompt evaluate it once. When a
/// slot is still evaluating a prompt that shares a longer prefix, the request is better off
/// waiting a pass for it.
struct PrefixPlan {
    /// A prefix at least this long, still being evaluated by another slot, is worth waiting a
    /// pass for instead of evaluating it a second time alongside.
    static let minimumAwaitedPrefix = 16

    let slot: Slot
    /// Prompt tokens the slot's own cache keeps.
    let kept: Int
    /// A slot whose cells hold more of the prompt, and how many positions to copy from it.
    let donor: Slot?
    let copied: Int

    /// The plan for `prompt` (not empty) given the slots, at least one of them free; nil when the
    /// prompt should wait for a slot that is still evaluating a longer shared prefix.
    static func make(for prompt: [Int32], slots: [Slot]) -> PrefixPlan? {
        // Keep at least the last prompt token to evaluate: its logits start the answer.
        let longest = prompt.count - 1
        let (slot, _) = longestSharedPrefix(slots.filter(\.isFree), prompt)!
        let kept = slot.sequence.reusablePrefix(of: prompt)
        // A donor's cells can be copied only while none of its rings has wrapped.
        let donor = longestSharedPrefix(
            slots.filter { $0 !== slot && $0.sequence.holdsEveryPosition(below: $0.sequence.writtenEnd) }, prompt)
        let copied = min(donor?.length ?? 0, longest)
        let awaited =
            slots.lazy.filter(\.isReadingPrompt)
            .filter { $0.sequence.holdsEveryPosition(below: max($0.sequence.writtenEnd, $0.sequence.position + $0.pendingPrompt.count)) }
            .map { min(SequenceState.sharedPrefixLength($0.sequence.tokens + $0.pendingPrompt, prompt), longest) }.max() ?? 0
        if awaited >= max(kept, copied) + minimumAwaitedPrefix { return nil }
        return PrefixPlan(slot: slot, kept: kept, donor: copied > kept ? donor?.slot : nil, copied: copied)
    }

    /// Puts the planned prefix into the slot's cache (its own tokens, or a copy of the donor's
    /// cells) and returns how many prompt tokens it holds.
    func apply(to prompt: [Int32], backend: any ComputeBackend) -> Int {
        slot.sequence.keepReusablePrefix(of: prompt)
        guard let donor else { return kept }
        backend.copyKV(positions: 0..<copied, from: donor.cache, to: slot.cache)
        slot.sequence.append(prompt[kept..<copied])
        return copied
    }

    /// The slot among `candidates` whose cached tokens share the most of `prompt`, and how many.
    private static func longestSharedPrefix(_ candidates: [Slot], _ prompt: [Int32]) -> (slot: Slot, length: Int)? {
        candidates.map { ($0, $0.sequence.sharedPrefixLength(with: prompt)) }.max { $0.1 < $1.1 }
    }
}
