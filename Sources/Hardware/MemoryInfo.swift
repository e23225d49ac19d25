/// System memory from /proc/meminfo.
public struct MemoryInfo: Codable, Sendable, Equatable {
    public var totalBytes: Int64
    /// MemAvailable: what can be allocated without swapping (includes reclaimable page cache).
    public var availableBytes: Int64

    /// Parses /proc/meminfo text; nil when MemTotal is missing.
    public static func parse(meminfo text: String) -> MemoryInfo? {
        var values: [String: Int64] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let number = Int64(parts[1]) else { continue }
            let unit = parts.count >= 3 && parts[2] == "kB" ? Int64(1024) : 1
            values[String(parts[0].dropLast())] = number * unit
        }
        guard let total = values["MemTotal"] else { return nil }
        return MemoryInfo(totalBytes: total, availableBytes: values["MemAvailable"] ?? values["MemFree"] ?? 0)
    }
}
