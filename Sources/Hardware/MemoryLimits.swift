#if canImport(Glibc)
import Glibc
#endif

/// How much more memory this process can allocate before something refuses: the machine
/// (MemAvailable), its control group's limit (cgroup v2 `memory.max`, or v1's
/// `memory.limit_in_bytes`), and the address-space limit (`ulimit -v`). The smallest one decides.
public struct MemoryLimits: Sendable, Equatable {
    public struct Limit: Sendable, Equatable {
        /// Where it comes from, for the message: "available RAM", "cgroup memory.max", "ulimit -v".
        public var name: String
        /// Bytes left under it.
        public var remainingBytes: Int64
        public init(name: String, remainingBytes: Int64) {
            self.name = name
            self.remainingBytes = remainingBytes
        }
    }

    public var limits: [Limit]

    public init(limits: [Limit]) { self.limits = limits }

    /// The tightest limit, or nil when none could be read.
    public var tightest: Limit? { limits.min { $0.remainingBytes < $1.remainingBytes } }

    /// This process's limits now.
    public static func current() -> MemoryLimits {
        var limits: [Limit] = []
        if let memory = readText("/proc/meminfo").flatMap(MemoryInfo.parse) {
            limits.append(Limit(name: "available RAM", remainingBytes: memory.availableBytes))
        }
        if let cgroup = cgroupRemaining() { limits.append(cgroup) }
        var addressSpace = rlimit()
        if getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &addressSpace) == 0, addressSpace.rlim_cur != rlim_t.max,
            addressSpace.rlim_cur < UInt64(Int64.max)
        {
            let used = readText("/proc/self/status").flatMap { statusValue($0, key: "VmSize") } ?? 0
            limits.append(Limit(name: "ulimit -v", remainingBytes: Int64(addressSpace.rlim_cur) - used))
        }
        return MemoryLimits(limits: limits)
    }

    /// cgroup v2 (`/sys/fs/cgroup/<group>/memory.max` − `memory.current`) or v1.
    static func cgroupRemaining() -> Limit? {
        guard let membership = readText("/proc/self/cgroup") else { return nil }
        // Inside a container the group's own directory is usually mounted as the hierarchy's root.
        let candidates = cgroupPaths(membership).flatMap { [($0.version, $0.path), ($0.version, "")] }
        for (version, group) in candidates {
            let base = (version == 2 ? "/sys/fs/cgroup" : "/sys/fs/cgroup/memory") + (group == "/" ? "" : group)
            let (limitFile, usageFile) =
                version == 2 ? ("memory.max", "memory.current") : ("memory.limit_in_bytes", "memory.usage_in_bytes")
            guard let limitText = readText(base + "/" + limitFile), let limit = Int64(limitText.trimmedLine),
                let usage = readText(base + "/" + usageFile).flatMap({ Int64($0.trimmedLine) })
            else { continue }
            // v1 writes "no limit" as a huge page-aligned number; v2 writes "max" (which fails Int64 above).
            guard limit < Int64(1) << 60 else { continue }
            return Limit(name: version == 2 ? "cgroup memory.max" : "cgroup memory.limit_in_bytes", remainingBytes: limit - usage)
        }
        return nil
    }

    /// The memory cgroups of `/proc/self/cgroup` text: `0::/group` (v2) and `N:memory:/group` (v1).
    static func cgroupPaths(_ text: String) -> [(version: Int, path: String)] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { return nil }
            if fields[0] == "0" && fields[1].isEmpty { return (2, String(fields[2])) }
            if fields[1].split(separator: ",").contains("memory") { return (1, String(fields[2])) }
            return nil
        }
    }

    /// A "Key:   123 kB" value of /proc/self/status, in bytes.
    static func statusValue(_ text: String, key: String) -> Int64? {
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, let value = Int64(parts[1]) else { return nil }
            return parts.count >= 3 && parts[2] == "kB" ? value * 1024 : value
        }
        return nil
    }

    static func readText(_ path: String) -> String? { Machine.readText(path) }
}

extension String {
    fileprivate var trimmedLine: String { String(filter { !$0.isWhitespace }) }
}
