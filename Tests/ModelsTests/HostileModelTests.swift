import Compute
import Foundation
import GGUF
import Models
import Testing

/// Files that parse but must not be run as they are (issue 18): every one is refused with an error
/// naming the key or tensor, its value and what was expected — or, where the engine can use the
/// value exactly, runs and gives the logits of the equivalent well-formed file.
@Suite struct HostileModelTests {
    /// The error text of loading `w`, or nil when it loads.
    static func loadError(_ w: GGUFWriter) -> String? {
        do {
            _ = try TinyModelFixture.load(w)
            return nil
        } catch {
            return "\(error)"
        }
    }

    static func expectRefused(_ w: GGUFWriter, mentioning parts: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        guard let message = loadError(w) else {
            Issue.record("loaded; expected an error mentioning \(parts)", sourceLocation: sourceLocation)
            return
        }
        for part in parts { #expect(message.contains(part), "\(message)", sourceLocation: sourceLocation) }
    }

    // MARK: tensor roles

    @Test(arguments: [GGMLType.q8_0, .q4_0, .q4_K])
    func quantizedNormWeightIsRefusedByName(type: GGMLType) throws {
        // Before: the RMSNorm kernel's precondition trapped (SIGILL) on the first token.
        var fixture = TinyModelFixture(d: 256, ff: 256)
        fixture.types["blk.1.attn_norm.weight"] = type
        Self.expectRefused(
            try fixture.writer(), mentioning: ["blk.1.attn_norm.weight is \(type.name)", "norm weights must be F32"])
    }

    /// F16 and BF16 norms are widened at load, exactly: the logits equal those of the same model
    /// whose norms hold the rounded values as F32, bit for bit.
    @Test(arguments: ["llama", "gemma3"], [GGMLType.f16, .bf16])
    func halfPrecisionNormsAreWidenedExactly(architecture: String, type: GGMLType) throws {
        var fixture = TinyModelFixture(architecture: architecture)
        var rounded = fixture.values()
        let norms = fixture.tensorShapes.filter(\.norm).map(\.name)
        for name in norms {
            let stored = TinyModelFixture.encode(rounded[name]!, as: type)
            rounded[name] = stored.withUnsafeBytes { bytes in
                (0..<rounded[name]!.count).map { i in
                    let bits = bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)
                    return type == .bf16 ? Float(bitPattern: UInt32(bits) << 16) : Float(Float16(bitPattern: bits))
                }
            }
        }
        let asF32 = try TinyModelFixture.logits(TinyModelFixture.load(fixture.writer(values: rounded)))
        for name in norms { fixture.types[name] = type }
        let widened = try TinyModelFixture.logits(TinyModelFixture.load(fixture.writer(values: rounded)))
        #expect(widened == asF32)
        #expect(widened.allSatisfy { $0.isFinite })
    }

    @Test func nonFiniteNormValueIsRefused() throws {
        let fixture = TinyModelFixture()
        var values = fixture.values()
        values["blk.0.ffn_norm.weight"]![3] = .nan
        Self.expectRefused(try fixture.writer(values: values), mentioning: ["blk.0.ffn_norm.weight", "index 3", "finite"])
    }

    @Test func nonFiniteMatrixElementIsRefused() throws {
        let fixture = TinyModelFixture()
        var values = fixture.values()
        values["blk.1.attn_v.weight"]![17] = -.infinity
        Self.expectRefused(try fixture.writer(values: values), mentioning: ["blk.1.attn_v.weight (F32)", "element 17"])
    }

    /// A quantized block whose f16 scale is NaN: every element of the block would be NaN.
    @Test(arguments: [GGMLType.q8_0, .q4_1, .q4_K, .q6_K])
    func nonFiniteBlockScaleIsRefused(type: GGMLType) throws {
        var fixture = TinyModelFixture()
        fixture.types["blk.0.ffn_down.weight"] = type
        var w = try fixture.writer()
        var rebuilt = GGUFWriter(metadata: w.metadata)
        let scaleOffset = ["Q8_0": 0, "Q4_1": 2, "Q4_K": 0, "Q6_K": 208][type.name]!
        for t in w.tensors {
            var data = t.data
            if t.name == "blk.0.ffn_down.weight" {
                data[3 * type.typeSize + scaleOffset] = 0x01
                data[3 * type.typeSize + scaleOffset + 1] = 0x7E  // 0x7E01: a NaN
            }
            try rebuilt.addTensor(name: t.name, type: t.type, dimensions: t.dimensions, data: data)
        }
        w = rebuilt
        Self.expectRefused(w, mentioning: ["blk.0.ffn_down.weight (\(type.name))", "scale in block 3"])
    }

    @Test func normOfWrongLengthIsRefused() throws {
        var w = try TinyModelFixture().writer()
        var rebuilt = GGUFWriter(metadata: w.metadata)
        for t in w.tensors {
            if t.name == "output_norm.weight" {
                try rebuilt.addTensor(name: t.name, type: .f32, dimensions: [16], data: Array(t.data.prefix(64)))
            } else {
                try rebuilt.addTensor(name: t.name, type: t.type, dimensions: t.dimensions, data: t.data)
            }
        }
        w = rebuilt
        Self.expectRefused(w, mentioning: ["output_norm.weight", "[16]", "expected [32]"])
    }

    @Test func ropeFrequencyFactorOfZeroIsRefused() throws {
        var w = try TinyModelFixture().writer()
        var factors = [Float](repeating: 1, count: 4)
        factors[2] = 0
        try w.addTensor(name: "rope_freqs.weight", type: .f32, dimensions: [4], data: factors.withUnsafeBytes { Array($0) })
        Self.expectRefused(w, mentioning: ["rope_freqs.weight", "index 2"])
    }

    @Test func embeddingRowsMustEqualTheVocabulary() throws {
        var w = try TinyModelFixture().writer()
        w.metadata["tokenizer.ggml.tokens"] = .array(.string(Array(TinyLlamaTests.byteTokens().prefix(200))))
        w.metadata["tokenizer.ggml.token_type"] = .array(.int32(Array(repeating: 1, count: 200)))
        Self.expectRefused(w, mentioning: ["200 tokens", "token_embd.weight", "256 rows"])
    }

    // MARK: hyperparameters

    /// (key without the architecture prefix, value, text the error must contain).
    static let badValues: [(String, GGUFValue, String)] = [
        ("context_length", .uint32(0), "context_length is 0; expected 1…16777216"),
        ("context_length", .uint64(1 << 40), "context_length is 1099511627776"),
        ("context_length", .uint64(.max), "context_length is 18446744073709551615"),
        ("embedding_length", .int32(-32), "embedding_length is -32"),
        ("block_count", .uint32(513), "block_count is 513; expected 1…512"),
        ("feed_forward_length", .uint32(0), "feed_forward_length is 0"),
        ("attention.head_count", .uint32(0), "head_count is 0; expected 1…4096"),
        ("attention.head_count", .string("4"), "attention.head_count has type STRING, expected an integer"),
        ("attention.head_count_kv", .uint32(3), "head_count_kv is 3; expected a divisor"),
        ("attention.head_count_kv", .uint32(8), "head_count_kv is 8; expected 1…4"),
        ("attention.head_count_kv", .array(.uint32([2, 2])), "head_count_kv has type ARRAY, expected an integer"),
        ("attention.key_length", .uint32(4096), "key_length is 4096; expected 2…1024"),
        // Found by the loader fuzzer: a head size of 1 made the rope.dimension_count range 2…1 (a trap).
        ("attention.head_count", .uint32(32), "head_count 32 is not a whole head size in 2…1024"),
        ("attention.value_length", .uint32(4), "value_length is 4; expected 8…8"),
        ("attention.layer_norm_rms_epsilon", .float32(0), "layer_norm_rms_epsilon is 0.0"),
        ("attention.layer_norm_rms_epsilon", .float32(.nan), "layer_norm_rms_epsilon is nan"),
        ("attention.layer_norm_rms_epsilon", .float64(1e-300), "layer_norm_rms_epsilon is 1e-300"),
        ("attention.layer_norm_rms_epsilon", .bool(true), "has type BOOL, expected a number"),
        ("rope.freq_base", .float32(-10000), "rope.freq_base is -10000.0"),
        ("rope.freq_base", .float32(.infinity), "rope.freq_base is inf"),
        ("rope.freq_base", .float64(1e300), "rope.freq_base is 1e+300"),
        ("rope.freq_base", .float32(0.5), "rope.freq_base is 0.5; expected a number in 1.0…"),
        ("rope.dimension_count", .uint32(7), "rope.dimension_count is 7; expected an even number"),
        ("rope.dimension_count", .uint32(16), "rope.dimension_count is 16; expected 2…8"),
        ("rope.scaling.type", .uint32(1), "rope.scaling.type has type UINT32, expected a string"),
    ]

    @Test(arguments: 0..<badValues.count)
    func outOfRangeHyperparameterIsNamed(index: Int) throws {
        let (key, value, expected) = Self.badValues[index]
        var w = try TinyModelFixture().writer()
        w.metadata["llama.\(key)"] = value
        Self.expectRefused(w, mentioning: [expected])
    }

    @Test func embeddingNotDivisibleIntoHeadsIsNamed() throws {
        var w = try TinyModelFixture().writer()
        w.metadata["llama.attention.head_count"] = .uint32(5)
        w.metadata["llama.attention.head_count_kv"] = .uint32(5)
        Self.expectRefused(w, mentioning: ["embedding_length 32 / attention.head_count 5 is not a whole head size"])
    }

    @Test func ropeScalingFactorOfZeroIsNamed() throws {
        var w = try TinyModelFixture().writer()
        w.metadata["llama.rope.scaling.type"] = .string("linear")
        w.metadata["llama.rope.scaling.factor"] = .float32(0)
        Self.expectRefused(w, mentioning: ["rope.scaling.factor is 0.0"])
    }

    /// Before: `window + batch` overflowed (Gemma3.kvCapacity). A window at least as long as the
    /// context is no window, so the logits equal those with a window of the whole context.
    @Test func hugeSlidingWindowRunsAsTheWholeContext() throws {
        let fixture = TinyModelFixture(architecture: "gemma3")
        var huge = try fixture.writer()
        huge.metadata["gemma3.attention.sliding_window"] = .int64(.max)
        var whole = try fixture.writer()
        whole.metadata["gemma3.attention.sliding_window"] = .uint32(16)
        let a = try TinyModelFixture.logits(TinyModelFixture.load(huge), tokens: Array(0..<12), context: 16)
        let b = try TinyModelFixture.logits(TinyModelFixture.load(whole), tokens: Array(0..<12), context: 16)
        #expect(a == b)
        // And a small window really changes them (so the comparison above can fail).
        var small = try fixture.writer()
        small.metadata["gemma3.attention.sliding_window"] = .uint32(2)
        let c = try TinyModelFixture.logits(TinyModelFixture.load(small), tokens: Array(0..<12), context: 16)
        #expect(c != b)
    }

    @Test func slidingWindowAboveInt64IsOutOfRangeNotMissing() throws {
        var w = try TinyModelFixture(architecture: "gemma3").writer()
        w.metadata["gemma3.attention.sliding_window"] = .uint64(.max)
        let message = Self.loadError(w) ?? ""
        #expect(message.contains("gemma3.attention.sliding_window is 18446744073709551615"), "\(message)")
        #expect(!message.contains("missing"), "\(message)")
        w.metadata["gemma3.attention.sliding_window"] = .float32(512)
        #expect(Self.loadError(w)?.contains("sliding_window has type FLOAT32, expected an integer") == true)
    }

    // MARK: sizes

    /// `sessionBytes` is exactly what an `InferenceSession` allocates (KV cache, workspace, host logits).
    @Test(arguments: ["llama", "gemma3"], [KVCacheType.f16, .f32])
    func sessionBytesEqualWhatASessionAllocates(architecture: String, kvType: KVCacheType) throws {
        let model = try TinyModelFixture.load(TinyModelFixture(architecture: architecture).writer()).model
        for (context, batch) in [(16, 512), (64, 8), (40, 40)] {
            let session = try InferenceSession(model: model, contextLength: context, kvType: kvType, batchCapacity: batch, logitRows: 4)
            let allocated = session.cache.byteCount + session.workspace.byteCount + model.configuration.vocabularySize * 4 * 4
            let predicted = try model.sessionBytes(contextLength: context, kvType: kvType, batchCapacity: batch, logitRows: 4)
            #expect(predicted == allocated, "\(architecture) \(kvType) context \(context) batch \(batch)")
            let two = try model.sessionBytes(contextLength: context, sequences: 2, kvType: kvType, batchCapacity: batch, logitRows: 4)
            #expect(two == 2 * allocated)
        }
    }

    /// Before: `-c 9223372036854775807` overflowed computing the KV cache's byte count (a trap).
    @Test(arguments: [Int.max, Int.max / 2, 1 << 40, (1 << 24) + 1])
    func hugeContextIsTooLargeNotATrap(context: Int) throws {
        let model = try TinyModelFixture.load(TinyModelFixture(architecture: "gemma3").writer()).model
        for call in [
            { _ = try model.sessionBytes(contextLength: context) },
            { _ = try model.makeKVCache(contextLength: context, batchCapacity: 512, kvType: .f32) },
        ] as [() throws -> Void] {
            do {
                try call()
                Issue.record("accepted a context of \(context)")
            } catch let error as ModelError {
                #expect(error.kind == .tooLarge, "\(error)")
                #expect(error.message.contains("\(context)"), "\(error)")
            }
        }
        #expect(model.kvCapacity(contextLength: 64, batchCapacity: .max).allSatisfy { $0 == 64 })
        #expect(throws: ModelError.self) { try InferenceSession(model: model, contextLength: context) }
    }

    @Test func sizesThatOverflowAnIntAreReportedNotTrapped() throws {
        let model = try TinyModelFixture.load(TinyModelFixture().writer()).model
        do {
            _ = try model.sessionBytes(contextLength: 64, sequences: .max)
            Issue.record("accepted Int.max sequences")
        } catch let error as ModelError {
            #expect(error.kind == .tooLarge && error.message.contains("\(Int.max) sequences"), "\(error)")
        }
        #expect(KVCache.byteCount(type: .f16, width: 1024, capacity: [.max / 1024]) == nil)
        #expect(KVCache.byteCount(type: .f16, width: 8, capacity: [16, 4]) == (16 + 4) * 8 * 2 * 2)
        #expect(KVCache.byteCount(type: .f32, width: 8, capacity: [-1]) == nil)
    }

    @Test func sessionArgumentsBelowOneAreInvalid() throws {
        let model = try TinyModelFixture.load(TinyModelFixture().writer()).model
        #expect(throws: ModelError.self) { try model.sessionBytes(contextLength: 0) }
        #expect(throws: ModelError.self) { try model.sessionBytes(contextLength: 16, sequences: 0) }
        #expect(throws: ModelError.self) { try model.sessionBytes(contextLength: -5) }
    }
}
