import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Drives the real `atelier chat` binary in a pseudo-terminal, the way a person does: typed
/// lines, Ctrl-C as the terminal's interrupt character (the kernel turns it into SIGINT for the
/// foreground process), /clear and /exit.
@Suite(.serialized, .tags(.model, .process)) struct ChatTerminalTests {
    @Test func twoTurnsCtrlCAndClearInARealTerminal() throws {
        let terminal = try PseudoTerminal(
            launching: Self.atelierBinary(),
            arguments: [
                "chat", "smollm2-135m", "--temp", "0", "--system", "You are a helpful assistant.", "-c", "1024", "-n", "200", "-t", "2",
            ])
        defer { terminal.terminate() }
        try terminal.waitFor("Ctrl-C stops an answer.\r\n> ", timeout: 120)

        let first = try terminal.ask("What is the capital of France?")
        #expect(first == "The capital of France is Paris.")
        let second = try terminal.ask("And what about Japan?")
        #expect(second.contains("Tokyo"))

        // Ctrl-C once the answer is streaming: the answer stops, the program does not.
        let mark = terminal.output.count
        terminal.send("Write a long story about a dragon who learns to fly.\r")
        try terminal.waitFor { $0.count > mark + 200 }
        terminal.send("\u{03}")
        try terminal.waitFor("(answer stopped)\r\n> ")
        #expect(terminal.isRunning)

        terminal.send("/clear\r")
        try terminal.waitFor("(conversation cleared)\r\n> ")
        #expect(try terminal.ask("What is the capital of France?") == first)

        terminal.send("/exit\r")
        #expect(try terminal.waitForExit(timeout: 30) == 0)
    }

    /// Editing keys as a terminal sends them (xterm sequences), Up recalling the history, /set,
    /// /save and /load of the conversation.
    @Test func lineEditingHistorySettingsAndSavedConversations() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let history = directory.appendingPathComponent("history").path
        let saved = directory.appendingPathComponent("conversation.json").path
        let terminal = try PseudoTerminal(
            launching: Self.atelierBinary(), arguments: ["chat", "smollm2-135m", "--temp", "0", "-c", "1024", "-n", "64", "-t", "2"],
            environment: ["ATELIER_CHAT_HISTORY": history])
        defer { terminal.terminate() }
        try terminal.waitFor("Ctrl-C stops an answer.\r\n> ", timeout: 120)

        // "Wht is the capital of Germany?": Ctrl-A, Right ×2, type "a"; End; Ctrl-W deletes "Germany?";
        // then "France?" and Enter.
        var mark = terminal.output.count
        terminal.send("Wht is the capital of Germany?\u{01}\u{1B}[C\u{1B}[Ca\u{1B}[F\u{17}France?\r")
        try terminal.waitFor { $0[mark...].firstRange(of: Array("Paris".utf8)) != nil && $0[mark...].suffix(4) == Array("\r\n> ".utf8) }

        // Up recalls the message as it was sent.
        mark = terminal.output.count
        terminal.send("\u{1B}[A")
        try terminal.waitFor { $0[mark...].firstRange(of: Array("> What is the capital of France?\u{1B}[0K".utf8)) != nil }
        terminal.send("\u{15}")  // Ctrl-U: clear the line again

        terminal.send("/set temp 0.5\r")
        try terminal.waitFor("(temp = 0.5)")
        terminal.send("/set temp hot\r")
        try terminal.waitFor("/set temp hot: expected a number")
        terminal.send("/set top-p 2\r")
        try terminal.waitFor("/set top-p 2: expected a number in (0, 1]")

        terminal.send("/save \(saved)\r")
        try terminal.waitFor("(saved 2 messages to \(saved))")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: saved))) as? [String: Any]
        let messages = try #require(json?["messages"] as? [[String: String]])
        #expect(messages.map { $0["role"] } == ["user", "assistant"])
        #expect(messages.first?["content"] == "What is the capital of France?")
        #expect(messages.last?["content"]?.contains("Paris") == true)

        terminal.send("/clear\r")
        try terminal.waitFor("(conversation cleared)")
        terminal.send("/load \(saved)\r")
        try terminal.waitFor("(loaded 2 messages from \(saved))")
        terminal.send("/exit\r")
        #expect(try terminal.waitForExit(timeout: 30) == 0)

        // The history file holds the typed lines, commands included, for the next run.
        let lines = try String(contentsOfFile: history, encoding: .utf8).split(separator: "\n").map(String.init)
        #expect(lines.first == "What is the capital of France?")
        #expect(lines.contains("/save \(saved)"))
    }

    @Test func pipedQuestionGetsOneAnswer() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try Self.atelierBinary())
        process.arguments = ["chat", "smollm2-135m", "--temp", "0", "-n", "64", "-t", "2"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        input.fileHandleForWriting.write(Data("What is the capital of Japan?\n".utf8))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(text == "The capital of Japan is Tokyo.\n")
    }

    /// The `atelier` executable `swift test` built beside this test bundle.
    static func atelierBinary() throws -> String {
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var directory = bundle.deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("atelier").path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw TerminalError("no atelier executable beside \(bundle.path); build it with `swift build -c release` first")
    }
}

struct TerminalError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A child process whose stdin/stdout/stderr are the slave side of a pty and which owns that
/// terminal (new session), so terminal signals reach it as they would from a real keyboard.
final class PseudoTerminal {
    private let master: Int32
    private let pid: pid_t
    private var exitStatus: Int32?
    private(set) var output: [UInt8] = []

    /// `environment` is added to this process's own.
    init(launching executable: String, arguments: [String], environment: [String: String] = [:]) throws {
        // posix_openpt/unlockpt/ptsname are not exported to Swift; they are these ioctls on Linux.
        let unlock: UInt = 0x4004_5431, number: UInt = 0x8004_5430  // TIOCSPTLCK, TIOCGPTN
        master = open("/dev/ptmx", O_RDWR | O_NOCTTY)
        var unlocked: Int32 = 0, index: UInt32 = 0
        guard master >= 0, ioctl(master, unlock, &unlocked) == 0, ioctl(master, number, &index) == 0 else {
            throw TerminalError("cannot open a pseudo-terminal: \(String(cString: strerror(errno)))")
        }
        let slavePath = "/dev/pts/\(index)"

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addclose(&actions, master)
        // Opened after setsid without O_NOCTTY: the pty becomes the child's controlling terminal.
        posix_spawn_file_actions_addopen(&actions, 0, slavePath, O_RDWR, 0)
        posix_spawn_file_actions_adddup2(&actions, 0, 1)
        posix_spawn_file_actions_adddup2(&actions, 0, 2)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        let setsid: Int16 = 0x80  // POSIX_SPAWN_SETSID (glibc ≥ 2.26), not exported to Swift
        var unblocked = sigset_t()
        sigemptyset(&unblocked)
        posix_spawnattr_setsigmask(&attributes, &unblocked)  // the test runner may block SIGINT
        posix_spawnattr_setflags(&attributes, setsid | Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var child: pid_t = 0
        let inherited = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let envp = inherited.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for pointer in envp { free(pointer) } }
        let status = posix_spawn(&child, executable, &actions, &attributes, argv, envp)
        guard status == 0 else { throw TerminalError("cannot start \(executable): \(String(cString: strerror(status)))") }
        pid = child
    }

    deinit { close(master) }

    var isRunning: Bool {
        if exitStatus != nil { return false }
        var status: Int32 = 0
        if waitpid(pid, &status, WNOHANG) == pid {
            exitStatus = status
            return false
        }
        return true
    }

    func send(_ text: String) {
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
    }

    /// Types `question`, waits for the answer and the next prompt; returns the answer's text.
    func ask(_ question: String, timeout: Double = 60) throws -> String {
        let mark = output.count
        send(question + "\r")
        let echo = Array((question + "\r\n").utf8)
        try waitFor(timeout: timeout) { bytes in
            guard let start = bytes[mark...].firstRange(of: echo)?.upperBound else { return false }
            return bytes[start...].firstRange(of: Array("\r\n> ".utf8)) != nil
        }
        let start = output[mark...].firstRange(of: echo)!.upperBound
        let end = output[start...].firstRange(of: Array("\r\n> ".utf8))!.lowerBound
        return String(decoding: output[start..<end], as: UTF8.self)
    }

    func waitFor(_ text: String, timeout: Double = 60) throws {
        let needle = Array(text.utf8)
        try waitFor(timeout: timeout) { $0.firstRange(of: needle) != nil }
    }

    /// Reads the terminal until `condition` holds for everything read so far.
    func waitFor(timeout: Double = 60, _ condition: ([UInt8]) -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while !condition(output) {
            guard Date() < deadline else {
                throw TerminalError("timed out; the terminal shows:\n" + String(decoding: output.suffix(2000), as: UTF8.self))
            }
            var descriptor = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            guard poll(&descriptor, 1, 200) > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
            if n > 0 {
                output += chunk[..<n]
            } else if !isRunning {
                throw TerminalError("atelier exited; the terminal shows:\n" + String(decoding: output.suffix(2000), as: UTF8.self))
            }
        }
    }

    func waitForExit(timeout: Double) throws -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while isRunning {
            guard Date() < deadline else { throw TerminalError("atelier did not exit") }
            var chunk = [UInt8](repeating: 0, count: 4096)
            _ = chunk.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }  // drain
            usleep(20_000)
        }
        let status = exitStatus!
        return (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }

    func terminate() {
        if isRunning {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
            exitStatus = status
        }
    }
}
