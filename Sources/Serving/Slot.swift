import Compute
import Models
import Sampling
import Tokenizers

/// A sequence position in the batch: its cache, the tokens the cache holds, and the job using it.
/// Only the driver thread touches a slot.
final class Slot {
    let cache: KVCache
    var sequence: SequenceState
    var job: Job?
    var sampler = Sampler(.greedy)
    /// The request's text: whole characters, then nothing from a stop string on.
    var decoder: IncrementalDecoder
    var stops = StopStringFilter(stops: [])
    var pendingPrompt: ArraySlice<Int32> = []
    var generated = 0
    var cachedPrompt = 0
    var nextToken: Int32 = 0

    init(cache: KVCache, slidingWindow: Int?, tokenizer: any Tokenizer) {
        self.cache = cache
        sequence = SequenceState(contextLength: cache.contextLength, layerCapacities: cache.capacity, slidingWindow: slidingWindow)
        decoder = IncrementalDecoder(tokenizer: tokenizer)
    }

    var isFree: Bool { job == nil }
    var isReadingPrompt: Bool { job != nil && !pendingPrompt.isEmpty }
    /// Busy with a sampled token whose keys and values are not in the cache yet.
    var isDecoding: Bool { job != nil && pendingPrompt.isEmpty && generated > 0 }

    /// Takes `job`, whose first `cachedPrompt` prompt tokens are already in the cache.
    func start(_ job: Job, cachedPrompt: Int, tokenizer: any Tokenizer) {
        let prompt = job.request.prompt
        self.job = job
        sampler = Sampler(job.request.sampling)
        for id in prompt { sampler.accept(id) }
        decoder = IncrementalDecoder(tokenizer: tokenizer)
        stops = StopStringFilter(stops: job.request.stop)
        pendingPrompt = prompt[cachedPrompt...]
        generated = 0
        self.cachedPrompt = cachedPrompt
    }

    /// Lets the job go; the cache keeps its tokens for the next request to share.
    func release() {
        job = nil
        pendingPrompt = []
    }
}
