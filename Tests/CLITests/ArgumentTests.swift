import Foundation
import Testing

/// What the command line says to a user who mistypes: negative numbers parse as numbers and are
/// checked against their documented ranges under the flag that was typed; an error in a subcommand
/// shows that subcommand's usage. None of these load a model.
@Suite(.tags(.process)) struct ArgumentTests {
    @Test(arguments: [
        (["run", "-n", "-2", "hi"], "-n -2: expected ≥ 0, or -1 for no limit"),
        (["chat", "-n", "-5"], "-n -5: expected ≥ 1, or -1 for no limit"),
        (["run", "--seed", "-7", "hi"], "--seed -7: expected ≥ 0, or -1 for a random seed"),
        (["run", "--temp", "nan", "hi"], "--temp nan: expected a finite number ≥ 0"),
        (["run", "--top-p=-1", "hi"], "--top-p -1.0: expected a number in (0, 1]"),
        (["run", "--presence-penalty", "-3", "hi"], "--presence-penalty -3.0: expected a number in [-2, 2]"),
        (["run", "-c", "-1", "hi"], "--ctx -1: expected 1…16777216"),
        (["run", "-t", "-4", "hi"], "--threads -4: expected 1…256"),
        (["run", "-c", "9223372036854775807", "hi"], "--ctx 9223372036854775807: expected 1…16777216"),
    ])
    func negativeNumbersAreCheckedUnderTheirOwnFlag(arguments: [String], message: String) throws {
        let result = try AtelierProcess.run(arguments)
        #expect(result.status == 64)
        #expect(result.stderr.contains("Error: \(message)"), "\(result.stderr)")
        #expect(!result.stderr.contains("Missing value"))
        #expect(!result.stderr.contains("--temperature"))
    }

    @Test func negativeValuesThatMeanSomethingAreAccepted() throws {
        // -n -1, --seed -1 and --temp -1 all have meanings (no limit, random, greedy): parsing gets as far
        // as the prompt check, which fails on the empty prompt — not on the numbers.
        let result = try AtelierProcess.run(["run", "-n", "-1", "--seed", "-1", "--temp", "-1", "--repeat-last-n", "-0", ""])
        #expect(result.stderr.contains("Error: the prompt is empty"), "\(result.stderr)")
    }

    @Test func anErrorWhileRunningShowsTheSubcommandsUsage() throws {
        let result = try AtelierProcess.run(["run", "smollm2-135m", ""])
        #expect(result.status == 64)
        #expect(result.stderr.contains("Usage: atelier run "), "\(result.stderr)")
        #expect(result.stderr.contains("See 'atelier run --help'"))
        #expect(!result.stderr.contains("atelier <subcommand>"))
    }

    @Test func versionNamesTheCommitItWasBuiltFrom() throws {
        let result = try AtelierProcess.run(["--version"])
        #expect(result.status == 0)
        let git = Process()
        git.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        git.arguments = ["git", "-C", URL(fileURLWithPath: #filePath).deletingLastPathComponent().path, "rev-parse", "--short=12", "HEAD"]
        let pipe = Pipe()
        git.standardOutput = pipe
        git.standardError = FileHandle.nullDevice
        try git.run()
        git.waitUntilExit()
        let head = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(
            in: .whitespacesAndNewlines)
        let pattern = #/^atelier \d+\.\d+\.\d+ \(commit ([0-9a-f]{12}(-modified)?|unknown), built \d{4}-\d{2}-\d{2}\)\n$/#
        let match = try #require(result.stdout.wholeMatch(of: pattern), "\(result.stdout)")
        // The binary may predate the newest commit (tests run against the last build), but a checkout
        // records a commit, and that commit exists.
        if git.terminationStatus == 0 && !head.isEmpty {
            let commit = String(match.1.prefix(12))
            #expect(commit != "unknown")
            let check = Process()
            check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            check.arguments = ["git", "-C", URL(fileURLWithPath: #filePath).deletingLastPathComponent().path, "cat-file", "-e", commit]
            try check.run()
            check.waitUntilExit()
            #expect(check.terminationStatus == 0)
        }
    }

    @Test func aMissingPromptFileIsNamed() throws {
        let result = try AtelierProcess.run(["run", "-f", "/nonexistent/prompt.txt"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("/nonexistent/prompt.txt"), "\(result.stderr)")
        let both = try AtelierProcess.run(["run", "-f", "p.txt", "model", "extra"])
        #expect(both.stderr.contains("with -f the only argument is the model; got 2 arguments"), "\(both.stderr)")
    }
}
