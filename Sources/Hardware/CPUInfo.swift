/// What the CPU offers the kernels: model, cores, and the SIMD level that decides which kernels run.
public struct CPUInfo: Codable, Sendable, Equatable {
    public var model: String
    public var logicalCores: Int
    /// Distinct (physical id, core id) pairs; equal to logical cores when SMT is off or unreported.
    public var physicalCores: Int
    /// The SIMD features Atelier cares about, as /proc/cpuinfo names them (avx2, fma, f16c, avx512f, …).
    public var features: [String]

    /// "AVX-512", "AVX2", "NEON" or "baseline": AVX2 needs FMA and F16C too, as our kernels do.
    public var simdLevel: String {
        if features.contains("avx512f") { return "AVX-512" }
        if ["avx2", "fma", "f16c"].allSatisfy(features.contains) { return "AVX2" }
        if features.contains("asimd") || features.contains("neon") { return "NEON" }
        return "baseline"
    }

    enum CodingKeys: String, CodingKey { case model, logicalCores, physicalCores, features, simdLevel }

    public init(model: String, logicalCores: Int, physicalCores: Int, features: [String]) {
        self.model = model
        self.logicalCores = logicalCores
        self.physicalCores = physicalCores
        self.features = features
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            model: try c.decode(String.self, forKey: .model), logicalCores: try c.decode(Int.self, forKey: .logicalCores),
            physicalCores: try c.decode(Int.self, forKey: .physicalCores), features: try c.decode([String].self, forKey: .features))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(model, forKey: .model)
        try c.encode(logicalCores, forKey: .logicalCores)
        try c.encode(physicalCores, forKey: .physicalCores)
        try c.encode(features, forKey: .features)
        try c.encode(simdLevel, forKey: .simdLevel)
    }

    static let interesting: Set<String> = [
        "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni",
        "avx_vnni", "avx512_bf16", "amx_tile", "asimd", "neon", "sve",
    ]

    /// Parses /proc/cpuinfo text (x86 and ARM field names); `onlineCPUs` fills in when the file
    /// lists no processors.
    public static func parse(cpuinfo text: String, onlineCPUs: Int) -> CPUInfo {
        var model = "", processors = 0
        var cores = Set<String>(), physical = "", features = Set<String>()
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].trimmingCharacters(), value = line[line.index(after: colon)...].trimmingCharacters()
            switch key {
            case "processor": processors += 1
            case "model name", "Model", "Hardware": if model.isEmpty { model = value }
            case "physical id": physical = value
            case "core id": cores.insert(physical + ":" + value)
            case "flags", "Features":
                for flag in value.split(separator: " ") where interesting.contains(String(flag)) { features.insert(String(flag)) }
            default: break
            }
        }
        let logical = processors > 0 ? processors : onlineCPUs
        return CPUInfo(
            model: model.isEmpty ? "unknown CPU" : model, logicalCores: logical,
            physicalCores: cores.isEmpty ? logical : cores.count, features: features.sorted())
    }
}

extension Substring {
    func trimmingCharacters() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
