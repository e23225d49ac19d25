import Compute
import Foundation
import GGUF
import Models
import Quantization
import Testing

/// Deterministic mutation fuzzing of the model loader and one forward pass (issue 18): tiny valid
/// models (TinyModelFixture) get their metadata values, tensor types, shapes, data and tokenizer
/// mutated, are written to a file, loaded with `ModelLoader.load(path:)` and, when they load, run
/// on one to three tokens. Every case must be refused with a `ModelError` (or a tokenizer or GGUF
/// error) or give finite logits; a trap ends the process, and the case that caused it is the
/// file `current.gguf` left in the work directory.
///
/// Finite logits are required when every weight lies within ±`moderateWeight`: with larger
/// weights a tiny model's activations can exceed float32 (or an 8-bit activation block's f16
/// scale) with no defect in the engine, so such cases are only counted.
///
/// By default a short run (`scripts/test-fast.sh` includes it); `scripts/fuzz-loader.sh` sets
/// ATELIER_LOADER_FUZZ_SECONDS, ATELIER_LOADER_FUZZ_SEED and ATELIER_LOADER_FUZZ_DIR.
@Suite struct LoaderFuzzTests {
    static let moderateWeight: Float = 2

    struct SplitMix {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
        mutating func chance(_ percent: Int) -> Bool { below(100) < percent }
        mutating func pick<T>(_ items: [T]) -> T { items[below(items.count)] }
        mutating func bytes(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) } }
    }

    /// A GGUF file's contents, before writing.
    struct Tensor {
        var name: String
        var type: GGMLType
        var dimensions: [Int64]
        var data: [UInt8]
    }

    struct Case {
        var metadata: GGUFMetadata
        var tensors: [Tensor]
        var log: [String] = []

        init(_ w: GGUFWriter) {
            metadata = w.metadata
            tensors = w.tensors.map { Tensor(name: $0.name, type: $0.type, dimensions: $0.dimensions, data: $0.data) }
        }

        func writer() throws -> GGUFWriter {
            var w = GGUFWriter(metadata: metadata)
            for t in tensors { try w.addTensor(name: t.name, type: t.type, dimensions: t.dimensions, data: t.data) }
            return w
        }
    }

    static func bases() throws -> [GGUFWriter] {
        var mixed = TinyModelFixture()
        var gemma = TinyModelFixture(architecture: "gemma3")
        for (i, (name, dims, norm)) in mixed.tensorShapes.enumerated() where !norm && dims[0] % 32 == 0 {
            let types: [GGMLType] =
                dims[0] % 256 == 0 ? [.q4_K, .q6_K, .q2_K, .q3_K, .q5_K, .q8_0] : [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .f16, .bf16]
            mixed.types[name] = types[i % types.count]
        }
        for (i, (name, dims, norm)) in gemma.tensorShapes.enumerated() {
            if norm {
                gemma.types[name] = i % 3 == 0 ? .f16 : .f32
            } else if dims[0] % 32 == 0 {
                gemma.types[name] = i % 2 == 0 ? .q8_0 : .f16
            }
        }
        var small = TinyModelFixture(d: 16, ff: 24, heads: 4, kvHeads: 1)
        small.seed = 11
        return [try TinyModelFixture().writer(), try mixed.writer(), try gemma.writer(), try small.writer()]
    }

    static let integerKeys = [
        "context_length", "embedding_length", "block_count", "feed_forward_length", "attention.head_count",
        "attention.head_count_kv", "attention.key_length", "attention.value_length", "rope.dimension_count",
        "attention.sliding_window",
    ]
    static let floatKeys = ["attention.layer_norm_rms_epsilon", "rope.freq_base", "rope.scaling.factor", "rope.scale_linear"]

    static func interestingValue(_ r: inout SplitMix) -> GGUFValue {
        let integers: [Int64] = [
            0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 63, 64, 255, 256, 257, 512, 513, 1024, 4096, 65535,
            1 << 20, 1 << 22, 1 << 24, (1 << 24) + 1, 1 << 31, 1 << 32, .max, .min, -1, -8,
        ]
        let floats: [Double] = [
            0, -0.0, .nan, .infinity, -.infinity, 1e-45, 1e-300, 1e-6, 0.5, 1, 2, 8, 1e4, 1e6, 1e7, 1e38, 3.5e38, 1e300, -1,
        ]
        switch r.below(12) {
        case 0, 1, 2: return .uint32(UInt32(truncatingIfNeeded: r.pick(integers)))
        case 3: return .int64(r.pick(integers))
        case 4: return .uint64(r.chance(50) ? .max : UInt64(bitPattern: r.pick(integers)))
        case 5: return .int32(Int32(truncatingIfNeeded: r.pick(integers)))
        case 6, 7: return .float32(Float(r.pick(floats)))
        case 8: return .float64(r.pick(floats))
        case 9: return .string(r.pick(["", "linear", "none", "yarn", "4", "gpt2"]))
        case 10: return .bool(r.chance(50))
        default: return .array(.uint32([2, 2]))
        }
    }

    /// One mutation; false when it did not apply.
    static func mutate(_ c: inout Case, _ r: inout SplitMix) -> Bool {
        let arch = c.metadata.architecture ?? "llama"
        switch r.below(11) {
        case 0, 1:
            let key = "\(arch).\(r.chance(70) ? r.pick(integerKeys) : r.pick(floatKeys))"
            let value = interestingValue(&r)
            c.metadata[key] = value
            c.log.append("set \(key) = \(value)")
        case 2:
            if r.chance(50) {
                let key = "\(arch).\(r.pick(integerKeys + floatKeys))"
                c.metadata[key] = nil
                c.log.append("remove \(key)")
            } else {
                let key = "\(arch).rope.scaling.type"
                c.metadata[key] = .string(r.pick(["linear", "none", "yarn"]))
                c.metadata["\(arch).rope.scaling.factor"] = interestingValue(&r)
                c.log.append("rope scaling \(c.metadata[key]!) factor \(c.metadata["\(arch).rope.scaling.factor"]!)")
            }
        case 3, 4:
            // Retype: the same values in the new type (a realistic file), or random bytes.
            let i = r.below(c.tensors.count), t = c.tensors[i]
            let type = r.chance(80) ? r.pick(Quantization.supportedWeightTypes) : r.pick(GGMLType.all)
            let elements = t.dimensions.reduce(1, *)
            guard t.dimensions[0] % Int64(type.blockSize) == 0, let bytes = type.byteCount(elements: elements) else { return false }
            let data: [UInt8]
            if r.chance(70), Quantization.supportedWeightTypes.contains(type) {
                data = TinyModelFixture.encode((0..<Int(elements)).map { _ in Float(Int(r.below(2001)) - 1000) / 1000 }, as: type)
            } else {
                data = r.bytes(Int(bytes))
            }
            c.tensors[i] = Tensor(name: t.name, type: type, dimensions: t.dimensions, data: data)
            c.log.append("retype \(t.name) \(t.type) -> \(type)")
        case 5, 6:
            let i = r.below(c.tensors.count), t = c.tensors[i]
            var dims = t.dimensions
            switch r.below(6) {
            case 0: if dims.count > 1 { dims.swapAt(0, 1) }
            case 1: dims.append(r.chance(50) ? 1 : 2)
            case 2: if dims.count > 1 { dims.removeLast() }
            case 3: dims[r.below(dims.count)] += r.chance(50) ? 1 : -1
            case 4: dims[r.below(dims.count)] *= 2
            default: dims[r.below(dims.count)] = Int64(r.pick([1, 8, 32, 64, 256]))
            }
            guard dims.allSatisfy({ $0 > 0 }), let bytes = t.type.byteCount(elements: dims.reduce(1, *)),
                dims[0] % Int64(t.type.blockSize) == 0,
                bytes < 1 << 22
            else { return false }
            let data =
                t.type == .f32 ? TinyModelFixture.encode((0..<Int(dims.reduce(1, *))).map { _ in 0.25 }, as: .f32) : r.bytes(Int(bytes))
            c.tensors[i] = Tensor(name: t.name, type: t.type, dimensions: dims, data: data)
            c.log.append("reshape \(t.name) \(t.dimensions) -> \(dims)")
        case 7:
            let i = r.below(c.tensors.count)
            var data = c.tensors[i].data
            for _ in 0..<(1 + r.below(8)) { data[r.below(data.count)] = UInt8(truncatingIfNeeded: r.next()) }
            let t = c.tensors[i]
            c.tensors[i] = Tensor(name: t.name, type: t.type, dimensions: t.dimensions, data: data)
            c.log.append("corrupt bytes of \(t.name)")
        case 8:
            if r.chance(50) {
                let t = c.tensors.remove(at: r.below(c.tensors.count))
                c.log.append("drop \(t.name)")
            } else {
                let name = r.pick(["rope_freqs.weight", "output.weight", "blk.0.attn_q.bias", "blk.9.attn_norm.weight"])
                guard !c.tensors.contains(where: { $0.name == name }) else { return false }
                let count = r.pick([1, 2, 4, 8, 16, 32])
                let values = (0..<count).map { _ in r.pick([Float(1), 0, -1, 0.5, 1e-30, .nan, 1e30, 4]) }
                c.tensors.append(
                    Tensor(name: name, type: .f32, dimensions: [Int64(count)], data: TinyModelFixture.encode(values, as: .f32)))
                c.log.append("add \(name) \(values)")
            }
        case 9:
            switch r.below(4) {
            case 0:
                let n = r.pick([0, 1, 2, 100, 255, 257])
                var tokens = TinyLlamaTests.byteTokens()
                if n > 256 { tokens += (256..<n).map { "extra\($0)" } } else { tokens = Array(tokens.prefix(n)) }
                c.metadata["tokenizer.ggml.tokens"] = .array(.string(tokens))
                if r.chance(50) { c.metadata["tokenizer.ggml.token_type"] = .array(.int32(Array(repeating: 1, count: n))) }
                c.log.append("vocabulary of \(n) tokens")
            case 1:
                let key = r.pick(["tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id"])
                c.metadata[key] = interestingValue(&r)
                c.log.append("set \(key)")
            case 2:
                c.metadata["general.alignment"] = .uint32(r.pick([1, 2, 4, 8, 64, 3]))
                c.log.append("alignment \(c.metadata["general.alignment"]!)")
            default:
                c.metadata["general.architecture"] = .string(r.pick(["llama", "gemma3", "mistral"]))
                c.log.append("architecture \(c.metadata["general.architecture"]!)")
            }
        default:
            // Whole-model shape change with consistent keys but inconsistent tensors.
            c.metadata["\(arch).block_count"] = .uint32(UInt32(r.pick([1, 3, 6])))
            c.log.append("block_count \(c.metadata["\(arch).block_count"]!)")
        }
        return true
    }

    /// The largest |weight| in the file's tensors of types the engine runs (infinity for NaN).
    static func largestWeight(_ path: String) -> Float {
        guard let file = try? GGUFFile(path: path) else { return .infinity }
        var largest: Float = 0
        for t in file.tensors where Quantization.supportedWeightTypes.contains(t.type) {
            let count = Int(t.elementCount)
            var values = [Float](repeating: 0, count: count)
            Quantization.dequantize(t.type, from: file.data(for: t).baseAddress!, to: &values, count: count)
            for v in values { largest = v.isNaN ? .infinity : max(largest, abs(v)) }
        }
        return largest
    }

    struct Stats {
        var cases = 0, unwritable = 0, loaded = 0, refused = 0, ran = 0, largeWeights = 0
        var refusals: [String: Int] = [:]
    }

    /// Runs cases from `seed` until `count` cases or `seconds` have passed; returns the statistics
    /// and the cases that loaded but gave non-finite logits with moderate weights (the findings).
    static func run(seed: UInt64, count: Int, seconds: Double?, directory: String) throws -> (Stats, [String]) {
        let bases = try bases()
        var r = SplitMix(state: seed)
        var stats = Stats()
        var findings: [String] = []
        let start = Date()
        let current = directory + "/current.gguf"
        while stats.cases < count, seconds.map({ Date().timeIntervalSince(start) < $0 }) ?? true {
            stats.cases += 1
            var c = Case(r.pick(bases))
            var applied = 0
            for _ in 0..<(1 + r.below(3)) where mutate(&c, &r) { applied += 1 }
            guard applied > 0, let w = try? c.writer() else {
                stats.unwritable += 1
                continue
            }
            let bytes = w.serialize().bytes
            try Data(bytes).write(to: URL(fileURLWithPath: current))
            try c.log.joined(separator: "\n").write(toFile: current + ".txt", atomically: false, encoding: .utf8)
            let loaded: LoadedModel
            do {
                loaded = try ModelLoader.load(path: current, backend: CPUBackend(threads: 1))
            } catch {
                stats.refused += 1
                let words = "\(error)".replacingOccurrences(of: current + ": ", with: "").split(separator: " ").prefix(3)
                stats.refusals[words.joined(separator: " "), default: 0] += 1
                continue
            }
            stats.loaded += 1
            let vocabulary = loaded.model.configuration.vocabularySize
            let tokens = (0..<(1 + r.below(3))).map { _ in Int32(r.below(vocabulary)) }
            let logits: [Float]
            do {
                let session = try InferenceSession(
                    model: loaded.model, contextLength: 4, kvType: r.chance(50) ? .f16 : .f32, batchCapacity: 1 + r.below(4))
                logits = try session.evaluate(tokens)
            } catch {
                stats.refused += 1
                stats.refusals["session: \(error)".prefix(40).description, default: 0] += 1
                continue
            }
            stats.ran += 1
            if !logits.allSatisfy({ $0.isFinite }) {
                if largestWeight(current) > moderateWeight {
                    stats.largeWeights += 1
                } else {
                    let kept = directory + "/nonfinite-\(seed)-\(stats.cases).gguf"
                    try? FileManager.default.removeItem(atPath: kept)
                    try FileManager.default.copyItem(atPath: current, toPath: kept)
                    findings.append("\(kept): \(c.log.joined(separator: "; "))")
                }
            }
        }
        return (stats, findings)
    }

    @Test func mutatedModelsAreRefusedOrGiveFiniteLogits() throws {
        let environment = ProcessInfo.processInfo.environment
        let seconds = environment["ATELIER_LOADER_FUZZ_SECONDS"].flatMap(Double.init)
        let seed = environment["ATELIER_LOADER_FUZZ_SEED"].flatMap(UInt64.init) ?? 1
        let directory = environment["ATELIER_LOADER_FUZZ_DIR"] ?? NSTemporaryDirectory() + "atelier-loader-fuzz-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let started = Date()
        let (stats, findings) = try Self.run(seed: seed, count: seconds == nil ? 400 : .max, seconds: seconds, directory: directory)
        let elapsed = Date().timeIntervalSince(started)
        print(
            "loader fuzz: seed \(seed), \(stats.cases) cases in \(String(format: "%.1f", elapsed)) s: \(stats.unwritable) unwritable, "
                + "\(stats.refused) refused, \(stats.loaded) loaded, \(stats.ran) ran, \(stats.largeWeights) non-finite with weights "
                + "beyond ±\(Self.moderateWeight), \(findings.count) findings")
        for (reason, n) in stats.refusals.sorted(by: { $0.value > $1.value }).prefix(12) { print("  \(n)× \(reason)") }
        for finding in findings { Issue.record("non-finite logits with moderate weights: \(finding)") }
        // The loader must both refuse and run: a mutator that broke every case would test nothing.
        #expect(stats.ran > stats.cases / 20 && stats.refused > stats.cases / 20)
        if seconds == nil { try? FileManager.default.removeItem(atPath: directory) }
    }
}
