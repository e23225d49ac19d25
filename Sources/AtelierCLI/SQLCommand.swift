import ArgumentParser
import CSV
import Columns
import DataFrames
import LineEditing
import ModelStore
import SQL
import Threading

#if canImport(Glibc)
import Glibc
#endif

struct SQLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Run SQL over CSV files (columnar, multithreaded); with no query, an interactive prompt.",
        discussion: """
            FROM takes a file ('data.csv', 'logs/*.csv.gz') or read_csv('f.csv', delim=';', header=false, nullstr='NA').
            Examples:
              atelier sql "SELECT id1, sum(v1) AS v1 FROM 'G1.csv' GROUP BY id1 ORDER BY v1 DESC LIMIT 5"
              atelier sql --file queries.sql --timer
              atelier sql "COPY (SELECT * FROM 'a.csv' WHERE x > 0) TO 'out.csv'"
            At the prompt: .tables, .schema [TABLE], .timer on|off, .mode table|csv|jsonl|markdown, .quit
            """)

    @Argument(help: "The SQL (several statements separated by ';'). Omit it for the prompt.")
    var query: String?

    @Option(name: [.short, .customLong("file")], help: "Read the SQL from this file.")
    var file: String?

    @Option(help: "Output: table (boxed; the default on a terminal), csv, jsonl or markdown.")
    var format: String?

    @Option(name: [.short, .customLong("output")], help: "Write the last result to this file (CSV) instead of printing it.")
    var output: String?

    @Flag(help: "Print each statement's run time.")
    var timer = false

    @Option(name: [.customLong("max-rows")], help: "Rows a table shows before eliding the middle.")
    var maximumRows = 40

    @Option(name: [.short, .customLong("threads")], help: "Threads (default: all cores).")
    var threads: Int?

    func validate() throws {
        if query != nil && file != nil { throw ValidationError("give the SQL as an argument or with --file, not both") }
        if let format, TableText.Format(rawValue: format) == nil {
            throw ValidationError("--format: expected table, csv, jsonl or markdown, got '\(format)'")
        }
        if let threads, threads < 1 { throw ValidationError("--threads: expected at least 1, got \(threads)") }
    }

    func run() throws {
        let pool = ThreadPool(threads: threads ?? Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        let session = SQLSession(pool: pool)
        var settings = SQLSettings(
            format: format.flatMap(TableText.Format.init(rawValue:)) ?? (isatty(1) != 0 ? .table : .csv), timer: timer,
            maximumRows: maximumRows)
        if let file {
            try runScript(try readTextFile(file), session: session, settings: settings)
        } else if let query {
            try runScript(query, session: session, settings: settings)
        } else if LineEditor.isAvailable() {
            SQLPrompt(session: session).loop(&settings)
        } else {
            var reader = LineReader()
            try runScript(reader.readAll(), session: session, settings: settings)
        }
    }

    func runScript(_ text: String, session: SQLSession, settings: SQLSettings) throws {
        let statements: [Statement]
        do {
            statements = try SQLParser.parse(text)
        } catch {
            throw SQLFailure(error.render(source: text))
        }
        for (index, statement) in statements.enumerated() {
            let start = TerminalProgress.monotonicClock()
            let result: SQLResult
            do {
                result = try QueryProgressLine.around(session.pool) { () throws(SQLError) in try session.execute(statement) }
            } catch {
                throw SQLFailure(error.render(source: text))
            }
            let elapsed = TerminalProgress.monotonicClock() - start
            if let output, index == statements.count - 1, case .table(let table) = result {
                try CSVWriter.write(table, to: output)
                print("wrote \(table.rowCount) rows to \(output)")
            } else {
                SQLSettings.show(result, settings)
            }
            if settings.timer { Terminal.status("Run Time: \(formatSeconds(elapsed))") }
        }
    }
}

/// A failed statement, shown by ArgumentParser as "Error: …" with the caret lines under it.
struct SQLFailure: Error, CustomStringConvertible {
    let description: String
    init(_ rendered: String) {
        description =
            rendered.hasPrefix("Error: ")
            ? String(rendered.dropFirst(7)) : rendered.hasPrefix("Error at") ? "at" + rendered.dropFirst(8) : rendered
    }
}

func formatSeconds(_ seconds: Double) -> String {
    let milliseconds = (seconds * 1000).rounded()
    return "\(milliseconds / 1000) s"
}

/// How results are shown, changed by `.mode` and `.timer` at the prompt.
struct SQLSettings {
    var format: TableText.Format
    var timer: Bool
    var maximumRows: Int

    static func show(_ result: SQLResult, _ settings: SQLSettings) {
        switch result {
        case .table(let table): Terminal.write(TableText.render(table, format: settings.format, maximumRows: settings.maximumRows) + "\n")
        case .text(let text): Terminal.write(text + "\n")
        }
    }
}

/// The interactive prompt: statements end with ';' (continued over lines), dot commands.
struct SQLPrompt {
    let session: SQLSession

    static var historyPath: String? {
        if let path = getenv("ATELIER_SQL_HISTORY").map({ String(cString: $0) }) { return path.isEmpty ? nil : path }
        return ModelStore.defaultRoot() + "/sql_history"
    }

    func loop(_ settings: inout SQLSettings) {
        let editor = LineEditor(historyPath: Self.historyPath)
        defer { editor.close() }
        print("atelier sql — end statements with ';'. .help for commands, .quit to leave.")
        var pending = ""
        while true {
            switch editor.readLine(prompt: pending.isEmpty ? "sql> " : "...> ") {
            case .endOfInput: return
            case .interrupted:
                pending = ""
                continue
            case .line(let line):
                let trimmed = line.trimmingCharacters(in: " \t")
                if pending.isEmpty && trimmed.hasPrefix(".") {
                    editor.remember(trimmed)
                    if !dotCommand(trimmed, &settings) { return }
                    continue
                }
                pending += (pending.isEmpty ? "" : "\n") + line
                guard trimmed.hasSuffix(";") else { continue }
                editor.remember(pending)
                let text = pending
                pending = ""
                let start = TerminalProgress.monotonicClock()
                do {
                    let results = try QueryProgressLine.around(session.pool) { () throws(SQLError) in try session.execute(text) }
                    for result in results { SQLSettings.show(result, settings) }
                } catch {
                    print(error.render(source: text))
                }
                if settings.timer { print("Run Time: \(formatSeconds(TerminalProgress.monotonicClock() - start))") }
            }
        }
    }

    func dotCommand(_ line: String, _ settings: inout SQLSettings) -> Bool {
        let words = line.split(separator: " ").map(String.init)
        switch words[0] {
        case ".quit", ".exit": return false
        case ".tables":
            print(session.tables.keys.sorted().joined(separator: "\n"))
        case ".schema":
            for (name, table) in session.tables.sorted(by: { $0.key < $1.key }) where words.count < 2 || words[1].lowercased() == name {
                print(
                    "\(name)(" + table.schema.fields.map { "\($0.name) \($0.type)" }.joined(separator: ", ") + ") -- \(table.rowCount) rows"
                )
            }
        case ".timer":
            settings.timer = words.count < 2 || words[1] == "on"
        case ".mode":
            if words.count == 2, let format = TableText.Format(rawValue: words[1]) {
                settings.format = format
            } else {
                print("usage: .mode table|csv|jsonl|markdown")
            }
        case ".help":
            print(".tables, .schema [TABLE], .timer on|off, .mode table|csv|jsonl|markdown, .quit")
        default:
            print("unknown command \(words[0]) (.help lists them)")
        }
        return true
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var scalars = Substring(self)
        while let first = scalars.first, set.contains(first) { scalars.removeFirst() }
        while let last = scalars.last, set.contains(last) { scalars.removeLast() }
        return String(scalars)
    }
}
