import GGUF

/// Paths of checked-in fixtures (found from this file's location, so no resource bundle).
enum Fixture {
    static let directory: String = {
        let here = "\(#filePath)"
        return String(here[..<here.lastIndex(of: "/")!]) + "/Fixtures"
    }()
    static func path(_ name: String) -> String { directory + "/" + name }
}

/// A small valid file with one metadata entry of every kind and three tensors, built with our
/// writer; tests damage copies of it.
func sampleWriter(version: UInt32 = 3) throws -> GGUFWriter {
    var writer = GGUFWriter(version: version)
    writer.metadata["general.architecture"] = .string("llama")
    writer.metadata["general.alignment"] = .uint32(32)
    writer.metadata["test.u8"] = .uint8(7)
    writer.metadata["test.i8"] = .int8(-7)
    writer.metadata["test.u16"] = .uint16(65535)
    writer.metadata["test.i16"] = .int16(-32768)
    writer.metadata["test.u32"] = .uint32(4_000_000_000)
    writer.metadata["test.i32"] = .int32(-2_000_000_000)
    writer.metadata["test.f32"] = .float32(-0.125)
    writer.metadata["test.bool"] = .bool(true)
    writer.metadata["test.string"] = .string("héllo ✓ 日本 🦙")
    writer.metadata["test.u64"] = .uint64(UInt64.max)
    writer.metadata["test.i64"] = .int64(Int64.min)
    writer.metadata["test.f64"] = .float64(1e-300)
    writer.metadata["test.strings"] = .array(.string(["a", "", "ünï"]))
    writer.metadata["test.bools"] = .array(.bool([true, false]))
    writer.metadata["test.nested"] = .array(.array([.int32([1, 2]), .string(["x"]), .array([.uint8([9])])]))
    try writer.addTensor(name: "a.weight", type: .f32, dimensions: [4, 2], data: (0..<32).map { UInt8($0) })
    try writer.addTensor(name: "b.weight", type: .f16, dimensions: [3], data: [1, 2, 3, 4, 5, 6])
    try writer.addTensor(name: "c.weight", type: .q4_0, dimensions: [32, 2], data: (0..<36).map { UInt8($0 * 3 % 251) })
    return writer
}

func sample(version: UInt32 = 3) throws -> (bytes: [UInt8], layout: GGUFWriter.Layout) {
    try sampleWriter(version: version).serialize()
}

extension Array where Element == UInt8 {
    mutating func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
        Swift.withUnsafeBytes(of: value.littleEndian) { raw in
            for (i, byte) in raw.enumerated() { self[offset + i] = byte }
        }
    }
}

/// Parses `bytes` and returns the rejection, or nil if the file was accepted.
func rejection(_ bytes: [UInt8]) -> GGUFError? {
    do {
        _ = try GGUFFile(bytes: bytes, source: "test.gguf")
        return nil
    } catch let error as GGUFError {
        return error
    } catch {
        return nil
    }
}
