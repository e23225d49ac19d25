import Foundation

/// The values gguf-py (PyPI gguf 0.19.0) reports for a model, written by
/// scripts/make-inspect-fixtures.py.
struct GGUFPyReference: Decodable {
    struct TypeTotals: Decodable { let tensors: Int; let elements: Int64; let bytes: Int64 }
    struct Tensor: Decodable {
        let name: String
        let type: String
        let shape: [Int64]
        let n_elements: Int64
        let n_bytes: Int64
        let data_offset: Int64
    }
    struct Field: Decodable {
        let type: String
        let element_type: String?
        let count: Int?
        let value: JSONScalar?
        let length: Int?
        let sha256: String?
        let first: [JSONScalar]?
        let last: [JSONScalar]?
        let sum: Double?
    }

    let file_size: Int64
    let version: Int
    let tensor_count: Int
    let kv_count: Int
    let alignment: Int
    let data_offset: Int64
    let parameter_count: Int64
    let tensor_bytes: Int64
    let by_type: [String: TypeTotals]
    let metadata: [String: Field]
    let tensors: [Tensor]

    static func load(_ name: String) throws -> GGUFPyReference {
        let here = URL(fileURLWithPath: "\(#filePath)").deletingLastPathComponent()
        let data = try Data(contentsOf: here.appendingPathComponent("Fixtures/\(name)"))
        return try JSONDecoder().decode(GGUFPyReference.self, from: data)
    }
}

enum JSONScalar: Decodable, Equatable {
    case number(Double)
    case string(String)
    case bool(Bool)

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? c.decode(Double.self) {
            self = .number(d)
        } else {
            self = .string(try c.decode(String.self))
        }
    }
}
