import ArgumentParser

@main
struct Atelier: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "atelier",
        abstract: "Machine learning at home: run, inspect and manage quantized models on your own CPU or GPU.",
        discussion: """
            Models live in $ATELIER_HOME (default ~/.cache/atelier). Built-in names: \
            smollm2-135m (the default model), gemma3-270m.
            """,
        subcommands: [
            Run.self, ChatCommand.self, Perplexity.self, Tokenize.self, Bench.self, Pull.self, ListModels.self, Remove.self, Inspect.self,
            Doctor.self, Fit.self, Serve.self,
        ]
    )
}
