import Compute
import Foundation
import ModelStore
import Models

/// The two real models, loaded on first use and then shared by every chat suite; a model the
/// store lacks is pulled. A failure to get one fails the tests that need it, not the test run.
enum TestModels {
    private static let smolLM2Model = Result { try load("smollm2-135m") }
    private static let gemma3Model = Result { try load("gemma3-270m") }

    static func smolLM2() throws -> LoadedModel { try smolLM2Model.get() }
    static func gemma3() throws -> LoadedModel { try gemma3Model.get() }

    private static func load(_ name: String) throws -> LoadedModel {
        let path = try ModelStore().resolve(name)
        return try ModelLoader.load(path: path, backend: CPUBackend(threads: CPUBackend.defaultThreadCount))
    }

    static func fixture(_ name: String) throws -> Data {
        let here = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent()
        return try Data(contentsOf: here.appendingPathComponent("Fixtures/\(name)"))
    }
}
