import Compute
import Foundation
import Models
import ModelStore

/// The two real models, loaded once for every chat suite.
enum TestModels {
    static let smolLM2: LoadedModel = load("smollm2-135m")
    static let gemma3: LoadedModel = load("gemma3-270m")

    private static func load(_ name: String) -> LoadedModel {
        let path = try! ModelStore().resolve(name)
        return try! ModelLoader.load(path: path, backend: CPUBackend(threads: CPUBackend.defaultThreadCount))
    }

    static func fixture(_ name: String) throws -> Data {
        let here = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent()
        return try Data(contentsOf: here.appendingPathComponent("Fixtures/\(name)"))
    }
}
