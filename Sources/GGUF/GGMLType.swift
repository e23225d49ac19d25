/// A ggml tensor element type as stored in GGUF tensor infos.
///
/// Every type is a fixed-size block of `blockSize` elements occupying `typeSize` bytes
/// (layouts: ggml `src/ggml-common.h`). Ids that ggml removed (4, 5, 31–33, 36–38) are not
/// listed, so a file naming them is rejected as an unknown type.
public struct GGMLType: Hashable, Sendable, CustomStringConvertible {
    public let id: GGMLTypeID
    public var rawValue: UInt32 { id.rawValue }
    public let name: String
    /// Elements per block.
    public let blockSize: Int
    /// Bytes per block.
    public let typeSize: Int

    public var description: String { name }

    /// Bits per weight: `8 × typeSize / blockSize`.
    public var bitsPerWeight: Double { 8 * Double(typeSize) / Double(blockSize) }

    public var isQuantized: Bool { blockSize > 1 }

    /// The id alone decides: every other field follows from it, and comparing names would put a
    /// string comparison into every type check.
    public static func == (a: GGMLType, b: GGMLType) -> Bool { a.id == b.id }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }

    public init?(rawValue: UInt32) {
        guard let known = GGMLType.table[rawValue] else { return nil }
        self = known
    }

    private init(_ id: GGMLTypeID, _ name: String, _ blockSize: Int, _ typeSize: Int) {
        self.id = id
        self.name = name
        self.blockSize = blockSize
        self.typeSize = typeSize
    }

    public static let f32 = GGMLType(.f32, "F32", 1, 4)
    public static let f16 = GGMLType(.f16, "F16", 1, 2)
    public static let q4_0 = GGMLType(.q4_0, "Q4_0", 32, 18)
    public static let q4_1 = GGMLType(.q4_1, "Q4_1", 32, 20)
    public static let q5_0 = GGMLType(.q5_0, "Q5_0", 32, 22)
    public static let q5_1 = GGMLType(.q5_1, "Q5_1", 32, 24)
    public static let q8_0 = GGMLType(.q8_0, "Q8_0", 32, 34)
    public static let q8_1 = GGMLType(.q8_1, "Q8_1", 32, 36)
    public static let q2_K = GGMLType(.q2_K, "Q2_K", 256, 84)
    public static let q3_K = GGMLType(.q3_K, "Q3_K", 256, 110)
    public static let q4_K = GGMLType(.q4_K, "Q4_K", 256, 144)
    public static let q5_K = GGMLType(.q5_K, "Q5_K", 256, 176)
    public static let q6_K = GGMLType(.q6_K, "Q6_K", 256, 210)
    public static let q8_K = GGMLType(.q8_K, "Q8_K", 256, 292)
    public static let iq2_XXS = GGMLType(.iq2_XXS, "IQ2_XXS", 256, 66)
    public static let iq2_XS = GGMLType(.iq2_XS, "IQ2_XS", 256, 74)
    public static let iq3_XXS = GGMLType(.iq3_XXS, "IQ3_XXS", 256, 98)
    public static let iq1_S = GGMLType(.iq1_S, "IQ1_S", 256, 50)
    public static let iq4_NL = GGMLType(.iq4_NL, "IQ4_NL", 32, 18)
    public static let iq3_S = GGMLType(.iq3_S, "IQ3_S", 256, 110)
    public static let iq2_S = GGMLType(.iq2_S, "IQ2_S", 256, 82)
    public static let iq4_XS = GGMLType(.iq4_XS, "IQ4_XS", 256, 136)
    public static let i8 = GGMLType(.i8, "I8", 1, 1)
    public static let i16 = GGMLType(.i16, "I16", 1, 2)
    public static let i32 = GGMLType(.i32, "I32", 1, 4)
    public static let i64 = GGMLType(.i64, "I64", 1, 8)
    public static let f64 = GGMLType(.f64, "F64", 1, 8)
    public static let iq1_M = GGMLType(.iq1_M, "IQ1_M", 256, 56)
    public static let bf16 = GGMLType(.bf16, "BF16", 1, 2)
    public static let tq1_0 = GGMLType(.tq1_0, "TQ1_0", 256, 54)
    public static let tq2_0 = GGMLType(.tq2_0, "TQ2_0", 256, 66)
    public static let mxfp4 = GGMLType(.mxfp4, "MXFP4", 32, 17)

    public static let all: [GGMLType] = [
        .f32, .f16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q8_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K,
        .q8_K, .iq2_XXS, .iq2_XS, .iq3_XXS, .iq1_S, .iq4_NL, .iq3_S, .iq2_S, .iq4_XS, .i8, .i16,
        .i32, .i64, .f64, .iq1_M, .bf16, .tq1_0, .tq2_0, .mxfp4,
    ]

    private static let table: [UInt32: GGMLType] = Dictionary(
        uniqueKeysWithValues: all.map { ($0.rawValue, $0) })

    /// Bytes taken by `elements` elements, or nil when `elements` is not a whole number of
    /// blocks or the size overflows.
    public func byteCount(elements: Int64) -> Int64? {
        guard elements >= 0, elements % Int64(blockSize) == 0 else { return nil }
        let (bytes, overflow) = (elements / Int64(blockSize)).multipliedReportingOverflow(by: Int64(typeSize))
        return overflow ? nil : bytes
    }
}
