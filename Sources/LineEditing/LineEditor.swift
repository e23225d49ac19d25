#if canImport(Glibc)
import Glibc
#endif

/// A prompt with line editing and history on a terminal: arrows, Home/End, Ctrl-A/E/B/F/U/K/W/L,
/// Alt-b/f, Delete, Up/Down through earlier entries, bracketed paste (pasted newlines stay in the
/// message). The terminal is raw only while a line is being read, so Ctrl-C during an answer is
/// still the terminal's SIGINT; at the prompt it comes back as `.interrupted`.
public final class LineEditor {
    public enum Input: Equatable, Sendable {
        case line(String)
        case interrupted
        case endOfInput
    }

    public var history: History
    private let historyPath: String?
    private let input: Int32
    private let output: Int32
    private var decoder = KeyDecoder()
    /// Keys that arrived after an Enter in the same read (typed ahead or pasted without brackets).
    private var pendingKeys: [Key] = []
    private var pasteModeOn = false

    /// `historyPath`: where entries persist between runs (nil: this run only).
    public init(historyPath: String? = nil, input: Int32 = 0, output: Int32 = 1) {
        self.historyPath = historyPath
        self.input = input
        self.output = output
        history = historyPath.map { History.load(path: $0) } ?? History()
    }

    /// Whether both ends are terminals; otherwise read lines plainly.
    public static func isAvailable(input: Int32 = 0, output: Int32 = 1) -> Bool { isatty(input) != 0 && isatty(output) != 0 }

    /// Turns the terminal's bracketed-paste mode back off; call when done reading.
    public func close() {
        if pasteModeOn { write("\u{1B}[?2004l") }
        pasteModeOn = false
    }

    /// Adds a submitted message to the history (and its file).
    public func remember(_ entry: String) {
        history.add(entry)
        if let historyPath { history.save(path: historyPath) }
    }

    public func readLine(prompt: String) -> Input {
        guard let saved = enterRawMode() else { return .endOfInput }
        defer {
            var restored = saved
            tcsetattr(input, TCSADRAIN, &restored)
        }
        // Bracketed paste stays on from the first prompt until `close()`, so that nothing is written
        // between a submitted line's echo and what follows it.
        write(prompt + (pasteModeOn ? "" : "\u{1B}[?2004h"))
        pasteModeOn = true
        var buffer = LineBuffer()
        var bytes = [UInt8](repeating: 0, count: 4096)
        while true {
            var keys = pendingKeys
            pendingKeys.removeAll()
            if keys.isEmpty {
                let n = bytes.withUnsafeMutableBytes { read(input, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { return .endOfInput }
                keys = decoder.decode(bytes[0..<n])
            }
            var out = ""
            for (index, key) in keys.enumerated() {
                if let result = apply(key, to: &buffer, prompt: prompt, output: &out) {
                    pendingKeys = Array(keys[(index + 1)...])
                    write(out)
                    return result
                }
            }
            write(out)
        }
    }

    /// Edits `buffer` for one key, appending what the terminal must show to `out`; returns the
    /// result when the key ends the line.
    private func apply(_ key: Key, to buffer: inout LineBuffer, prompt: String, output out: inout String) -> Input? {
        let columns = terminalColumns()
        switch key {
        case .text(let text), .paste(let text):
            let appendsInPlace =
                buffer.cursorAtEnd && !text.contains("\n")
                && DisplayWidth.of(prompt) + DisplayWidth.of(buffer.characters) + DisplayWidth.of(Array(text)) < columns
            buffer.insert(text)
            // Typing at the end of a line that fits is echoed as is, the way a cooked terminal does.
            if appendsInPlace { out += text } else { out += redraw(prompt, buffer, columns) }
            return nil
        case .enter:
            // A line typed straight through is already on screen as typed: only the newline is added.
            let shownWhole =
                buffer.cursorAtEnd && !buffer.characters.contains("\n")
                && DisplayWidth.of(prompt) + DisplayWidth.of(buffer.characters) < columns
            if !shownWhole {
                buffer.moveEnd()
                out += redraw(prompt, buffer, columns)
            }
            out += "\n"
            return .line(buffer.text)
        case .interrupt:
            buffer.moveEnd()
            out += redraw(prompt, buffer, columns)
            return .interrupted
        case .endOfInput:
            if buffer.isEmpty { return .endOfInput }
            buffer.deleteForward()
        case .backspace: buffer.backspace()
        case .delete: buffer.deleteForward()
        case .left: buffer.moveLeft()
        case .right: buffer.moveRight()
        case .home: buffer.moveHome()
        case .end: buffer.moveEnd()
        case .wordLeft: buffer.moveWordLeft()
        case .wordRight: buffer.moveWordRight()
        case .killToStart: buffer.killToStart()
        case .killToEnd: buffer.killToEnd()
        case .deleteWordBackward: buffer.deleteWordBackward()
        case .up:
            guard let entry = history.older(from: buffer.text) else { return nil }
            buffer.replace(with: entry)
        case .down:
            guard let entry = history.newer() else { return nil }
            buffer.replace(with: entry)
        case .clearScreen:
            out += "\u{1B}[H\u{1B}[2J"
        case .unbound:
            return nil
        }
        out += redraw(prompt, buffer, columns)
        return nil
    }

    private func redraw(_ prompt: String, _ buffer: LineBuffer, _ columns: Int) -> String {
        let view = LineView(prompt: prompt, buffer: buffer, columns: columns)
        return "\r" + prompt + view.visible + "\u{1B}[0K\r" + (view.cursorColumn > 0 ? "\u{1B}[\(view.cursorColumn)C" : "")
    }

    private func terminalColumns() -> Int {
        var size = winsize()
        guard ioctl(output, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// Raw input (no echo, no line discipline, Ctrl-C and Ctrl-D as bytes); output processing stays
    /// on, so "\n" still moves to the start of the next line. Typed-ahead input is kept.
    private func enterRawMode() -> termios? {
        var saved = termios()
        guard tcgetattr(input, &saved) == 0 else { return nil }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | ISIG | IEXTEN)
        raw.c_iflag &= ~tcflag_t(ICRNL | IXON | INLCR)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        guard tcsetattr(input, TCSADRAIN, &raw) == 0 else { return nil }
        return saved
    }

    private func write(_ text: String) { TerminalOutput.write(text, to: output) }
}
