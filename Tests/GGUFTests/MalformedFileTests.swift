import GGUF
import Testing

/// Hostile and damaged files: each is rejected with a GGUFError naming the field, the value
/// and the byte offset; none crashes, hangs or allocates what a count claims.
@Suite struct MalformedFileTests {
    /// Offsets of the sample's pieces, from the writer's layout.
    struct Offsets {
        let bytes: [UInt8]
        let layout: GGUFWriter.Layout
        /// Byte offset of metadata entry `key`'s key-length field.
        func entry(_ key: String, in writer: GGUFWriter) -> Int {
            layout.metadataEntryOffsets[writer.metadata.keys.firstIndex(of: key)!]
        }
        /// Offset of the value-type field of an entry: after u64 length + key bytes.
        func valueType(_ key: String, in writer: GGUFWriter) -> Int { entry(key, in: writer) + 8 + key.utf8.count }
        func value(_ key: String, in writer: GGUFWriter) -> Int { valueType(key, in: writer) + 4 }
        /// Tensor info fields (v3): name length, name, n_dims, dims…, type, offset.
        func tensorInfo(_ index: Int) -> Int { layout.tensorInfoOffsets[index] }
    }

    let writer: GGUFWriter
    let o: Offsets

    init() throws {
        writer = try sampleWriter()
        let (bytes, layout) = writer.serialize()
        o = Offsets(bytes: bytes, layout: layout)
    }

    func expectRejected(
        _ bytes: [UInt8], _ reason: GGUFError.Reason, field: String? = nil, at offset: Int? = nil,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        guard let error = rejection(bytes) else {
            Issue.record("accepted a file that should fail with \(reason)", sourceLocation: sourceLocation)
            return
        }
        #expect(error.reason == reason, "\(error)", sourceLocation: sourceLocation)
        if let field { #expect(error.field.contains(field), "\(error)", sourceLocation: sourceLocation) }
        if let offset { #expect(error.offset == offset, "\(error)", sourceLocation: sourceLocation) }
        #expect(error.description.contains("test.gguf"), sourceLocation: sourceLocation)
        #expect(error.description.contains("byte \(error.offset)"), sourceLocation: sourceLocation)
    }

    @Test func everyTruncationIsRejected() {
        // Every prefix that cuts into the last tensor's data or before: every section boundary
        // and every field. (Cutting only the padding after the last tensor leaves a valid file.)
        let endOfData = o.layout.tensorDataOffsets[2] + 36
        for length in 0..<endOfData {
            let truncated = Array(o.bytes[0..<length])
            guard let error = rejection(truncated) else {
                Issue.record("accepted the file truncated to \(length) of \(o.bytes.count) bytes")
                continue
            }
            #expect([.truncated, .outOfFile, .countTooLarge, .arrayTooLarge].contains(error.reason), "at \(length): \(error)")
        }
        #expect(rejection(o.bytes) == nil)
        #expect(rejection(Array(o.bytes[0..<endOfData])) == nil)
    }

    @Test func truncationAtSectionBoundariesNamesTheField() {
        expectRejected(Array(o.bytes[0..<2]), .truncated, field: "magic")
        expectRejected(Array(o.bytes[0..<4]), .truncated, field: "version", at: 4)
        expectRejected(Array(o.bytes[0..<8]), .truncated, field: "tensor_count", at: 8)
        expectRejected(Array(o.bytes[0..<16]), .truncated, field: "metadata_kv_count", at: 16)
        // Cut inside the tensor data: the last tensor no longer fits.
        expectRejected(Array(o.bytes[0..<(o.layout.tensorDataOffsets[2] + 10)]), .outOfFile, field: "c.weight")
    }

    @Test func badMagic() {
        var bytes = o.bytes
        bytes[0] = UInt8(ascii: "X")
        expectRejected(bytes, .badMagic, field: "magic", at: 0)
        #expect(rejection(bytes)!.value.contains("58 47 55 46"))
    }

    /// A text file renamed `.gguf`: bytes are two hex digits each ("0A", not "A"), next to the
    /// expected "GGUF".
    @Test func textFileMagicIsShownAsTwoDigitHex() {
        let error = rejection(Array("A\n  plain text".utf8))
        #expect(error?.value == "bytes 41 0A 20 20", "\(String(describing: error))")
        #expect(error?.description.contains("47 47 55 46") == true)
    }

    @Test(arguments: [UInt32(0), 4, 99, 0xFFFF_0001])
    func unknownVersion(_ version: UInt32) {
        var bytes = o.bytes
        bytes.put(version, at: 4)
        expectRejected(bytes, .unsupportedVersion, field: "version", at: 4)
    }

    @Test func bigEndianFileIsNamed() {
        var bytes = o.bytes
        bytes.put(UInt32(3).byteSwapped, at: 4)
        expectRejected(bytes, .bigEndian, field: "version", at: 4)
    }

    @Test func unknownValueType() {
        var bytes = o.bytes
        let at = o.valueType("test.u8", in: writer)
        bytes.put(UInt32(13), at: at)
        expectRejected(bytes, .unknownValueType, field: "test.u8", at: at)
    }

    @Test func unknownArrayElementType() {
        var bytes = o.bytes
        let at = o.value("test.strings", in: writer)
        bytes.put(UInt32(77), at: at)
        expectRejected(bytes, .unknownValueType, field: "test.strings", at: at)
    }

    @Test func stringLengthPastEndOfFile() {
        var bytes = o.bytes
        let at = o.value("test.string", in: writer)
        bytes.put(UInt64(bytes.count), at: at)
        expectRejected(bytes, .truncated, field: "test.string", at: at)
        bytes.put(UInt64(1) << 40, at: at)
        expectRejected(bytes, .stringTooLong, field: "test.string", at: at)
    }

    @Test func keyLengthPastEndOfFile() {
        var bytes = o.bytes
        let at = o.entry("test.u8", in: writer)
        bytes.put(UInt64.max, at: at)
        expectRejected(bytes, .stringTooLong, field: "metadata key", at: at)
    }

    @Test func arrayCountOf2To62() {
        var bytes = o.bytes
        let at = o.value("test.strings", in: writer) + 4
        bytes.put(UInt64(1) << 62, at: at)
        expectRejected(bytes, .arrayTooLarge, field: "test.strings", at: at)
        // Same for a fixed-size element type: the count must fit in the remaining bytes.
        var bools = o.bytes
        let boolsAt = o.value("test.bools", in: writer) + 4
        bools.put(UInt64(bools.count), at: boolsAt)
        expectRejected(bools, .arrayTooLarge, field: "test.bools", at: boolsAt)
    }

    @Test func tensorCountTheFileCannotHold() {
        var bytes = o.bytes
        bytes.put(UInt64(1) << 60, at: 8)
        expectRejected(bytes, .countTooLarge, field: "tensor_count", at: 8)
        bytes = o.bytes
        bytes.put(UInt64(o.bytes.count), at: 8)
        expectRejected(bytes, .countTooLarge, field: "tensor_count", at: 8)
    }

    @Test func metadataCountTheFileCannotHold() {
        var bytes = o.bytes
        bytes.put(UInt64.max, at: 16)
        expectRejected(bytes, .countTooLarge, field: "metadata_kv_count", at: 16)
    }

    @Test func dimensionProductOverflow() {
        var bytes = o.bytes
        // a.weight is [4, 2]: make it [2^40, 2^40].
        let dims = o.tensorInfo(0) + 8 + "a.weight".utf8.count + 4
        bytes.put(UInt64(1) << 40, at: dims)
        bytes.put(UInt64(1) << 40, at: dims + 8)
        expectRejected(bytes, .dimensionOverflow, field: "a.weight", at: dims + 8)
    }

    @Test func hugeButRepresentableTensorIsOutOfFile() {
        var bytes = o.bytes
        let dims = o.tensorInfo(0) + 8 + "a.weight".utf8.count + 4
        bytes.put(UInt64(1) << 30, at: dims)
        expectRejected(bytes, .outOfFile, field: "a.weight")
    }

    @Test func zeroOrTooManyDimensions() {
        var bytes = o.bytes
        let nDims = o.tensorInfo(0) + 8 + "a.weight".utf8.count
        bytes.put(UInt32(0), at: nDims)
        expectRejected(bytes, .badDimensionCount, field: "a.weight", at: nDims)
        bytes.put(UInt32(5), at: nDims)
        expectRejected(bytes, .badDimensionCount, field: "a.weight", at: nDims)
        bytes = o.bytes
        bytes.put(UInt64(0), at: nDims + 4)
        expectRejected(bytes, .badDimension, field: "a.weight", at: nDims + 4)
    }

    @Test(arguments: [UInt32(4), 5, 31, 36, 43, 0xFFFF_FFFF])
    func unknownGGMLType(_ type: UInt32) {
        var bytes = o.bytes
        let at = o.tensorInfo(1) + 8 + "b.weight".utf8.count + 4 + 8
        bytes.put(type, at: at)
        expectRejected(bytes, .unknownTensorType, field: "b.weight", at: at)
    }

    @Test func rowLengthNotAMultipleOfTheBlock() {
        var bytes = o.bytes
        // b.weight is F16 [3]; turning it into Q4_0 needs a multiple of 32 elements.
        let at = o.tensorInfo(1) + 8 + "b.weight".utf8.count + 4 + 8
        bytes.put(GGMLType.q4_0.rawValue, at: at)
        expectRejected(bytes, .notBlockMultiple, field: "b.weight")
    }

    @Test func misalignedAndOutOfFileOffsets() {
        let offsetField = o.tensorInfo(2) + 8 + "c.weight".utf8.count + 4 + 16 + 4
        var bytes = o.bytes
        bytes.put(UInt64(70), at: offsetField)
        expectRejected(bytes, .misalignedOffset, field: "c.weight", at: offsetField)
        bytes.put(UInt64(1) << 40, at: offsetField)
        expectRejected(bytes, .outOfFile, field: "c.weight")
        bytes.put(UInt64.max - 31, at: offsetField)
        expectRejected(bytes, .misalignedOffset, field: "c.weight", at: offsetField)
    }

    @Test func overlappingTensors() {
        var bytes = o.bytes
        // c.weight (36 bytes) moved onto a.weight's slot at offset 0.
        let offsetField = o.tensorInfo(2) + 8 + "c.weight".utf8.count + 4 + 16 + 4
        bytes.put(UInt64(0), at: offsetField)
        expectRejected(bytes, .overlappingTensors)
    }

    @Test func duplicateKeys() {
        var bytes = o.bytes
        // "test.u8" and "test.i8" have the same length: rename the second to the first.
        let at = o.entry("test.i8", in: writer) + 8
        for (i, byte) in "test.u8".utf8.enumerated() { bytes[at + i] = byte }
        expectRejected(bytes, .duplicateKey, field: "metadata key", at: at - 8)
        #expect(rejection(bytes)!.value.contains("test.u8"))
    }

    @Test func duplicateTensorNames() {
        var bytes = o.bytes
        let at = o.tensorInfo(1) + 8
        for (i, byte) in "a.weight".utf8.enumerated() { bytes[at + i] = byte }
        expectRejected(bytes, .duplicateTensorName, field: "tensor #1")
    }

    @Test func invalidUTF8InKeysNamesAndValues() {
        var key = o.bytes
        key[o.entry("test.u8", in: writer) + 8] = 0xFF
        expectRejected(key, .invalidUTF8, field: "metadata key", at: o.entry("test.u8", in: writer))
        var name = o.bytes
        name[o.tensorInfo(0) + 8] = 0xC3  // a lone lead byte
        expectRejected(name, .invalidUTF8, field: "tensor #0")
        var value = o.bytes
        value[o.value("test.string", in: writer) + 8] = 0x80
        expectRejected(value, .invalidUTF8, field: "test.string")
    }

    @Test func emptyKey() {
        var writer = GGUFWriter()
        writer.metadata[""] = .uint8(1)
        let bytes = writer.serialize().bytes
        expectRejected(bytes, .emptyKey, at: 24)
    }

    @Test func boolOtherThanZeroOrOne() {
        var bytes = o.bytes
        bytes[o.value("test.bool", in: writer)] = 2
        expectRejected(bytes, .invalidBool, field: "test.bool", at: o.value("test.bool", in: writer))
    }

    @Test func badAlignment() {
        for bad: GGUFValue in [.uint32(0), .uint32(48), .uint64(32), .string("32")] {
            var w = writer
            w.metadata["general.alignment"] = bad
            expectRejected(w.serialize().bytes, .badAlignment, field: "general.alignment")
        }
    }

    @Test func deeplyNestedArraysAreBounded() {
        // 10,000 levels of array-in-array would overflow a naive recursive reader's stack.
        var bytes: [UInt8] = Array("GGUF".utf8)
        bytes.put32(3); bytes.put64(0); bytes.put64(1)
        bytes.put64(1); bytes.append(UInt8(ascii: "k")); bytes.put32(9)
        for _ in 0..<10_000 { bytes.put32(9); bytes.put64(1) }
        bytes.put32(0); bytes.put64(0)
        expectRejected(bytes, .nestingTooDeep, field: "k")
    }

    @Test func emptyAndTinyFiles() {
        expectRejected([], .truncated, field: "magic", at: 0)
        expectRejected(Array("GGUF".utf8), .truncated, field: "version", at: 4)
    }

    @Test func notAFileAtAll() {
        #expect(throws: GGUFError.self) { try GGUFFile(path: "/nonexistent/model.gguf") }
        #expect(throws: GGUFError.self) { try GGUFFile(path: "/tmp") }
        do {
            _ = try GGUFFile(path: "/nonexistent/model.gguf")
        } catch {
            #expect("\(error)".contains("/nonexistent/model.gguf"))
        }
    }

    @Test func randomCorruptionNeverCrashes() {
        // A deterministic sweep: every byte of the header and infos set to extreme values.
        var rng = SplitMix64(seed: 42)
        for position in 0..<o.layout.dataOffset {
            for value: UInt8 in [0x00, 0xFF, 0x80, UInt8(truncatingIfNeeded: rng.next())] {
                var bytes = o.bytes
                bytes[position] = value
                _ = rejection(bytes)
            }
        }
    }
}

struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Array where Element == UInt8 {
    mutating func put32(_ v: UInt32) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
    mutating func put64(_ v: UInt64) { Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) } }
}
