import Autograd
import GGUF
import TensorOps
import Tensors
import Testing

/// The PyTorch references of scripts/dev/make-vision-fixtures.py (float64 results stored as f32).
struct Fixture {
    let file: GGUFFile
    let backend: CPUTensorBackend

    init(_ name: String, backend: CPUTensorBackend) throws {
        let here = #filePath
        file = try GGUFFile(path: String(here[..<here.lastIndex(of: "/")!]) + "/Fixtures/" + name)
        self.backend = backend
    }

    func values(_ name: String) throws -> (shape: [Int], values: [Double]) {
        guard let info = file.tensor(named: name), info.type == .f32 else { throw FixtureMissing(name: name) }
        let data = file.data(for: info)
        return (
            info.dimensions.reversed().map(Int.init),
            (0..<Int(info.elementCount)).map { Double(data.load(fromByteOffset: $0 * 4, as: Float.self)) }
        )
    }

    /// A tensor in `dtype` (f32 or f64).
    func tensor(_ name: String, dtype: DType) throws -> Tensor {
        let (shape, values) = try values(name)
        let host = backend.tensor(values, shape: shape)
        if dtype == .f64 { return host }
        let converted = backend.zeros(shape, dtype: dtype)
        backend.copy(host, into: converted)
        return converted
    }

    func labels(_ name: String) throws -> Tensor {
        let (shape, values) = try values(name)
        return backend.tensor(values.map { Int32($0) }, shape: shape)
    }

    func number(_ key: String) throws -> Double {
        guard let value = file.metadata.number(key) else { throw FixtureMissing(name: key) }
        return value
    }

    func floats(_ key: String) throws -> [Double] {
        guard let values = file.metadata.array(key)?.floats else { throw FixtureMissing(name: key) }
        return values.map(Double.init)
    }

    /// max |actual − expected| / max |expected|: the error relative to the tensor's scale.
    static func relativeError(_ actual: [Double], _ expected: [Double]) -> Double {
        precondition(actual.count == expected.count, "\(actual.count) values against \(expected.count)")
        let scale = expected.map(abs).max() ?? 0
        let worst = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
        return worst / max(scale, 1e-30)
    }

    func expect(
        _ actual: Tensor, matches name: String, tolerance: Double, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let (shape, expected) = try values(name)
        #expect(actual.shape == shape, "\(name): shape \(actual.shape), expected \(shape)", sourceLocation: sourceLocation)
        let error = Self.relativeError(backend.doubles(actual), expected)
        #expect(error <= tolerance, "\(name): relative error \(error) > \(tolerance)", sourceLocation: sourceLocation)
    }
}

struct FixtureMissing: Error, CustomStringConvertible {
    let name: String
    var description: String { "fixture entry \(name) is missing" }
}
