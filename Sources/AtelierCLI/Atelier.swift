import ArgumentParser

#if canImport(Glibc)
import Glibc
#endif

@main
struct Atelier: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atelier",
        abstract: "Machine learning at home: run, inspect and manage quantized models on your own CPU or GPU.",
        discussion: """
            Models live in $ATELIER_HOME (default ~/.cache/atelier). Built-in names: \
            smollm2-135m (the default model, instruction-tuned), gemma3-270m (a base model: it continues text).
            """,
        version: "atelier \(version) (commit \(BuildInfo.commit), built \(BuildInfo.date))",
        subcommands: [
            Run.self, ChatCommand.self, Perplexity.self, Tokenize.self, Bench.self, Pull.self, ListModels.self, Remove.self, Inspect.self,
            Doctor.self, Fit.self, Serve.self, Train.self, FineTune.self, Merge.self, Evaluate.self, SQLCommand.self, DataGenerate.self,
            Predict.self,
        ]
    )

    /// The release this source tree is; the commit comes from the build (`BuildInfo`).
    static let version = "0.9.0"

    /// ArgumentParser's own `main`, except that an error a subcommand throws while running is shown
    /// with that subcommand's usage, not the top-level one ("Usage: atelier <subcommand>").
    static func main() async {
        let command: any ParsableCommand
        do {
            command = try parseAsRoot()
        } catch {
            exit(withError: error)
        }
        do {
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
        } catch let error as ValidationError {
            let name = type(of: command)._commandName
            Terminal.status(
                "Error: \(error.message)\nUsage: \(usageString(for: type(of: command)))\n  See 'atelier \(name) --help' for more information."
            )
            Glibc.exit(ExitCode.validationFailure.rawValue)
        } catch {
            exit(withError: error)
        }
    }
}
