import GGUF
import ModelStore
import Quantization
import Testing

/// Bit-for-bit agreement with gguf-py's dequantization (fixtures from scripts/make-quant-fixtures.py).
@Suite struct DequantizationTests {
    struct RealRows: Decodable {
        let model: String, tensor: String, type: String
        let rowStart: Int, rowCount: Int, columns: Int
        let sha256: String
        let first: [UInt32]
    }

    struct RandomBlocks: Decodable {
        let type: String, hex: String, count: Int
        let expected: [UInt32]
    }

    static let realRows: [RealRows] = (try? Fixture.decode("real-rows.json", as: [RealRows].self)) ?? []
    static let randomBlocks: [RandomBlocks] = (try? Fixture.decode("random-blocks.json", as: [RandomBlocks].self)) ?? []

    @Test func fixturesCoverEveryTypeOfBothModelsAndEverySupportedType() {
        let real = Set(Self.realRows.map(\.type))
        #expect(real == ["F32", "Q4_1", "Q8_0", "Q5_0", "Q4_K", "Q6_K"])
        #expect(Set(Self.randomBlocks.map(\.type)) == Set(Quantization.supportedWeightTypes.filter { $0 != .f32 }.map(\.name)))
    }

    @Test(.tags(.model), arguments: realRows)
    func realTensorRowsMatchGGUFPy(_ fixture: RealRows) throws {
        let path = try ModelStore().resolve(fixture.model)
        let file = try GGUFFile(path: path)
        let tensor = try #require(file.tensor(named: fixture.tensor))
        #expect(tensor.type.name == fixture.type)
        #expect(Int(tensor.dimensions[0]) == fixture.columns)
        let data = file.data(for: tensor)
        let rowBytes = Int(tensor.rowByteCount)
        let count = fixture.rowCount * fixture.columns
        var out = [Float](repeating: .nan, count: count)
        out.withUnsafeMutableBufferPointer {
            Quantization.dequantize(tensor.type, from: data.baseAddress! + fixture.rowStart * rowBytes, to: $0.baseAddress!, count: count)
        }
        #expect(out.prefix(fixture.first.count).map(\.bitPattern) == fixture.first)
        var h = SHA256()
        out.withUnsafeBytes { h.update($0) }
        #expect(
            SHA256.hex(h.finalize()) == fixture.sha256,
            "\(fixture.model) \(fixture.tensor) rows \(fixture.rowStart)..<\(fixture.rowStart + fixture.rowCount)")
    }

    @Test(arguments: randomBlocks)
    func randomBlocksMatchGGUFPy(_ fixture: RandomBlocks) {
        let type = ggmlType(named: fixture.type)
        let out = dequantized(type, bytes(hex: fixture.hex), count: fixture.count)
        let mismatches = zip(out.map(\.bitPattern), fixture.expected).enumerated().filter { $0.element.0 != $0.element.1 }
        #expect(out.count == fixture.expected.count)
        #expect(
            mismatches.isEmpty,
            "\(fixture.type): \(mismatches.count) mismatches, first at \(mismatches.first.map { "\($0.offset)" } ?? "-")")
    }
}

extension DequantizationTests.RealRows: CustomTestStringConvertible {
    var testDescription: String { "\(model) \(tensor) \(type)" }
}

extension DequantizationTests.RandomBlocks: CustomTestStringConvertible {
    var testDescription: String { type }
}
