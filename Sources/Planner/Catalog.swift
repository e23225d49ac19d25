#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A GPU from `Catalogs/gpus.json`: every figure there carries its source.
public struct GPUSpec: Codable, Sendable, Equatable {
    public var name: String
    public var aliases: [String]
    public var vendor: String
    public var architecture: String?
    public var computeCapability: String?
    public var memoryGiB: Double
    public var memoryType: String?
    public var busWidthBits: Int?
    public var bandwidthGBps: Double
    public var fp16TensorTFLOPS: Double?
    public var bf16TensorTFLOPS: Double?
    public var fp32TFLOPS: Double?
    public var tdpWatts: Double?
    public var unifiedMemory: Bool?
    public var memoryOptionsGiB: [Double]?
    public var priceNewUSD: Double?
    public var priceNewDate: String?
    public var priceNewSource: String?
    public var priceUsedUSD: Double?
    public var priceUsedDate: String?
    public var priceUsedSource: String?
    public var sources: [String]
    public var note: String?

    /// A GPU outside the catalog (a probed card, a test case): only the figures given.
    public init(
        name: String, aliases: [String] = [], vendor: String = "nvidia", memoryGiB: Double, bandwidthGBps: Double,
        fp16TensorTFLOPS: Double? = nil, unifiedMemory: Bool = false, sources: [String]
    ) {
        self.name = name
        self.aliases = aliases
        self.vendor = vendor
        self.memoryGiB = memoryGiB
        self.bandwidthGBps = bandwidthGBps
        self.fp16TensorTFLOPS = fp16TensorTFLOPS
        self.unifiedMemory = unifiedMemory
        self.sources = sources
    }

    public var memoryBytes: Int64 { Int64(memoryGiB * 1_073_741_824) }
    public var isUnified: Bool { unifiedMemory ?? false }
    /// Dense half-precision tensor throughput for prefill and training; FP32 shader throughput on
    /// chips without tensor cores figures.
    public var halfPrecisionFLOPS: Double? {
        (fp16TensorTFLOPS ?? bf16TensorTFLOPS ?? fp32TFLOPS).map { $0 * 1e12 }
    }
}

/// A model from `Catalogs/models.json`: hyperparameters (transformers) or sizes (CNNs, diffusion).
public struct CatalogModel: Codable, Sendable, Equatable {
    public struct Component: Codable, Sendable, Equatable {
        public var name: String
        public var parameters: Double
    }
    public var name: String
    public var aliases: [String]
    public var family: String
    public var kind: String
    public var parameters: Double
    public var layers: Int?
    public var embeddingLength: Int?
    public var heads: Int?
    public var kvHeads: Int?
    public var headDim: Int?
    public var feedForwardLength: Int?
    public var vocabularySize: Int?
    public var contextLength: Int?
    public var mlp: String?
    public var tiedEmbeddings: Bool?
    public var attentionBias: Bool?
    public var qkNorm: Bool?
    public var positionEmbeddings: String?
    public var slidingWindow: Int?
    public var globalLayerEvery: Int?
    /// Mixture of experts: experts per layer, experts a token uses, one expert's MLP width.
    public var experts: Int?
    public var activeExperts: Int?
    public var expertFeedForwardLength: Int?
    public var inputResolution: Int?
    public var gflopsPerImage: Double?
    public var gmacsPerImage: Double?
    public var activationBytesPerImageTraining: Double?
    public var components: [Component]?
    public var measuredPeakBytes: Double?
    public var measuredPeakNote: String?
    public var sources: [String]
    public var note: String?

    public var isTransformer: Bool { kind == "llm" || kind == "encoder" }

    /// The planner's view of a transformer entry; nil for CNNs and diffusion models.
    public var shape: ModelShape? {
        guard isTransformer, let layers, let h = embeddingLength, let heads, let ff = feedForwardLength, let vocabularySize else {
            return nil
        }
        return ModelShape(
            name: name, family: family, layers: layers, embeddingLength: h, heads: heads, kvHeads: kvHeads ?? heads,
            headDim: headDim ?? h / heads, feedForwardLength: ff, vocabularySize: vocabularySize,
            contextLength: contextLength ?? 2048, mlp: ModelShape.MLP(rawValue: mlp ?? "gated") ?? .gated,
            tiedEmbeddings: tiedEmbeddings ?? false, attentionBias: attentionBias ?? false, qkNorm: qkNorm ?? false,
            positions: ModelShape.Positions(rawValue: positionEmbeddings ?? "rope") ?? .rope,
            slidingWindow: slidingWindow, globalLayerEvery: globalLayerEvery, isEncoder: kind == "encoder",
            experts: experts, activeExperts: activeExperts, expertFeedForwardLength: expertFeedForwardLength)
    }
}

public enum CatalogError: Error, CustomStringConvertible {
    case unreadable(String, String)
    case unknown(kind: String, name: String, suggestions: [String])
    public var description: String {
        switch self {
        case .unreadable(let file, let why): return "catalog \(file) is unreadable: \(why)"
        case .unknown(let kind, let name, let suggestions):
            let hint = suggestions.isEmpty ? "" : "; did you mean \(suggestions.map { "\"\($0)\"" }.joined(separator: ", "))?"
            return "unknown \(kind) \"\(name)\"\(hint) (`atelier fit --list-\(kind == "GPU" ? "gpus" : "models")` lists them)"
        }
    }
}

/// The catalogs compiled into the binary (`Sources/Planner/Catalogs/*.json`, embedded at build time
/// so a static binary needs no resource directory).
public enum Catalog {
    private struct GPUFile: Decodable { var schemaVersion: Int; var gpus: [GPUSpec] }
    private struct ModelFile: Decodable { var schemaVersion: Int; var models: [CatalogModel] }

    public static let gpus: [GPUSpec] = {
        do { return try JSONDecoder().decode(GPUFile.self, from: Data(PackageResources.gpus_json)).gpus } catch {
            fatalError("\(CatalogError.unreadable("gpus.json", "\(error)"))")
        }
    }()

    public static let models: [CatalogModel] = {
        do { return try JSONDecoder().decode(ModelFile.self, from: Data(PackageResources.models_json)).models } catch {
            fatalError("\(CatalogError.unreadable("models.json", "\(error)"))")
        }
    }()

    public static func gpu(named query: String) throws -> GPUSpec {
        try lookup(query, in: gpus, names: { [$0.name] + $0.aliases }, kind: "GPU")
    }

    public static func model(named query: String) throws -> CatalogModel {
        try lookup(query, in: models, names: { [$0.name] + $0.aliases }, kind: "model")
    }

    /// Exact (case- and punctuation-insensitive) name or alias first, then a unique entry whose
    /// name contains every word of the query.
    static func lookup<T>(_ query: String, in items: [T], names: (T) -> [String], kind: String) throws -> T {
        let key = normalized(query)
        if let hit = items.first(where: { names($0).contains { normalized($0) == key } }) { return hit }
        let words = query.lowercased().split(whereSeparator: { $0 == " " || $0 == "-" || $0 == "_" }).map(String.init)
        let partial = items.filter { item in
            let all = names(item).map { $0.lowercased() }.joined(separator: " ")
            return words.allSatisfy { all.contains($0) }
        }
        if partial.count == 1 { return partial[0] }
        throw CatalogError.unknown(kind: kind, name: query, suggestions: partial.prefix(5).map { names($0)[0] })
    }

    static func normalized(_ s: String) -> String {
        String(s.lowercased().filter { $0.isLetter || $0.isNumber })
    }
}
