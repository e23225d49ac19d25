import GGUF
import Testing

@Suite struct RoundTripTests {
    @Test(arguments: [UInt32(1), 2, 3])
    func writerOutputReadsBackIdentically(version: UInt32) throws {
        let writer = try sampleWriter(version: version)
        let (bytes, layout) = writer.serialize()
        let file = try GGUFFile(bytes: bytes)
        #expect(file.version == version)
        #expect(file.metadata == writer.metadata)
        #expect(file.dataOffset == layout.dataOffset)
        #expect(file.tensors.map(\.name) == ["a.weight", "b.weight", "c.weight"])
        #expect(file.tensors.map(\.dimensions) == [[4, 2], [3], [32, 2]])
        #expect(file.tensors.map(\.type) == [.f32, .f16, .q4_0])
        #expect(file.tensors.map(\.byteCount) == [32, 6, 36])
        for (tensor, expected) in zip(file.tensors, writer.tensors) {
            #expect(Array(file.data(for: tensor)) == expected.data)
            #expect(file.dataOffset + Int(tensor.offset) == layout.tensorDataOffsets[file.tensors.firstIndex(of: tensor)!])
        }
    }

    @Test func v1UsesNarrowCountsAndV3WideOnes() throws {
        let (v1, _) = try sample(version: 1)
        let (v3, _) = try sample(version: 3)
        // Header: magic, version, then tensor_count: u32 3 in v1, u64 3 in v3.
        #expect(Array(v1[8..<16]) == [3, 0, 0, 0, 17, 0, 0, 0])
        #expect(Array(v3[8..<24]) == [3, 0, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 0, 0, 0, 0])
        #expect(v1.count < v3.count)
    }

    @Test func customAlignmentIsHonoured() throws {
        var writer = try sampleWriter()
        writer.metadata["general.alignment"] = .uint32(64)
        let file = try GGUFFile(bytes: writer.serialize().bytes)
        #expect(file.alignment == 64)
        #expect(file.dataOffset % 64 == 0)
        #expect(file.tensors.allSatisfy { $0.offset % 64 == 0 })
    }

    @Test func atomicWriteToDiskThenMemoryMap() throws {
        let path = "/tmp/atelier-gguf-roundtrip-\(getpidValue()).gguf"
        defer { removeFile(path) }
        let writer = try sampleWriter()
        try writer.write(to: path)
        let file = try GGUFFile(path: path)
        #expect(file.metadata == writer.metadata)
        #expect(Array(file.data(for: file.tensor(named: "c.weight")!)) == writer.tensors[2].data)
    }

    /// gguf-py (PyPI gguf 0.19.0, scripts/make-gguf-fixture.py) wrote this file. We must read every
    /// value it holds, and our writer must reproduce it byte for byte.
    @Test func matchesGGUFPyByteForByte() throws {
        let reference = try GGUFFile(path: Fixture.path("gguf-py-small.gguf"))
        let m = reference.metadata
        #expect(m["general.architecture"] == .string("llama"))
        #expect(m["test.u8"] == .uint8(200))
        #expect(m["test.i8"] == .int8(-100))
        #expect(m["test.u16"] == .uint16(60000))
        #expect(m["test.i16"] == .int16(-30000))
        #expect(m["test.u32"] == .uint32(4_000_000_000))
        #expect(m["test.i32"] == .int32(-2_000_000_000))
        #expect(m["test.f32"] == .float32(3.25))
        #expect(m["test.bool"] == .bool(true))
        #expect(m["test.string"] == .string("héllo wörld ✓ 日本"))
        #expect(m["test.u64"] == .uint64(18_000_000_000_000_000_000))
        #expect(m["test.i64"] == .int64(-9_000_000_000_000_000_000))
        #expect(m["test.f64"] == .float64(-2.5e-300))
        #expect(m["test.strings"] == .array(.string(["a", "", "ünï"])))
        #expect(m["test.ints"] == .array(.int32([1, -2, 3])))
        #expect(m["test.floats"] == .array(.float32([0.5, -1.5])))
        #expect(m["test.nested"] == .array(.array([.int32([1, 2]), .int32([3])])))
        #expect(reference.tensors.map(\.dimensions) == [[4, 2], [3], [32, 2]])
        #expect(reference.tensors.map { reference.dataOffset + Int($0.offset) } == [768, 800, 832])

        var writer = GGUFWriter(version: 3, metadata: m)
        for tensor in reference.tensors {
            try writer.addTensor(
                name: tensor.name, type: tensor.type, dimensions: tensor.dimensions,
                data: Array(reference.data(for: tensor)))
        }
        let original = try readBytes(Fixture.path("gguf-py-small.gguf"))
        #expect(writer.serialize().bytes == original)
    }

    @Test func writerRejectsWrongTensorSizes() throws {
        var writer = GGUFWriter()
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "x", type: .q4_0, dimensions: [31], data: []) }
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "x", type: .f32, dimensions: [2], data: [0, 0, 0]) }
        try writer.addTensor(name: "x", type: .f32, dimensions: [1], data: [0, 0, 0, 0])
        #expect(throws: GGUFError.self) { try writer.addTensor(name: "x", type: .f32, dimensions: [1], data: [0, 0, 0, 0]) }
    }

    @Test func typeTableMatchesGGML() {
        // Sizes from ggml's type_traits (src/ggml.c); bits per weight from the notes' table.
        #expect(GGMLType(rawValue: 3)! == .q4_1 && GGMLType.q4_1.typeSize == 20 && GGMLType.q4_1.blockSize == 32)
        #expect(GGMLType.q4_K.bitsPerWeight == 4.5)
        #expect(GGMLType.q6_K.bitsPerWeight == 6.5625)
        #expect(GGMLType.q3_K.typeSize == 110 && GGMLType.q2_K.typeSize == 84 && GGMLType.q5_K.typeSize == 176)
        for removed in [UInt32(4), 5, 31, 32, 33, 36, 37, 38, 43, 1000] {
            #expect(GGMLType(rawValue: removed) == nil)
        }
    }
}
