import Foundation
import PackagePlugin

/// Writes `BuildInfo.swift` (the commit and the build day) before each build, for `atelier --version`.
/// The file is rewritten only when its text changes, so an unchanged tree does not recompile the CLI;
/// the day, not the time, keeps that true within a day. Outside a git checkout the commit is "unknown".
@main
struct BuildInfoPlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let directory = context.pluginWorkDirectoryURL.appending(path: "generated")
        let script = """
            set -e
            out="$1/BuildInfo.swift"; mkdir -p "$1"
            commit=$(git -C "$2" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
            if [ "$commit" != unknown ] && [ -n "$(git -C "$2" status --porcelain --untracked-files=no 2>/dev/null)" ]; then
                commit="$commit-modified"
            fi
            day=$(date -u +%Y-%m-%d)
            text="enum BuildInfo { static let commit = \\"$commit\\"; static let date = \\"$day\\" }"
            if [ ! -f "$out" ] || [ "$(cat "$out")" != "$text" ]; then printf '%s\\n' "$text" > "$out"; fi
            """
        return [
            .prebuildCommand(
                displayName: "Recording the commit and build date", executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "sh", directory.path, context.package.directoryURL.path], outputFilesDirectory: directory)
        ]
    }
}
