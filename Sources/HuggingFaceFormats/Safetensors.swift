/// The safetensors container (Hugging Face's weight file): an 8-byte little-endian header length,
/// the JSON header (padded with spaces to a multiple of 8 so the data stays aligned), then each
/// tensor's little-endian f32 values in order.
public enum Safetensors {
    public struct Tensor: Sendable {
        public let name: String
        public let shape: [Int]
        public let values: [Float]

        public init(name: String, shape: [Int], values: [Float]) {
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// The whole file: f32 tensors in the order given, `metadata` as the header's string map.
    public static func serialize(_ tensors: [Tensor], metadata: [(String, String)] = [("format", "pt")]) -> [UInt8] {
        let metadataFields = metadata.map { JSONLiteral.string($0.0) + ":" + JSONLiteral.string($0.1) }.joined(separator: ",")
        var entries = [#""__metadata__":{"# + metadataFields + "}"]
        var offset = 0
        for tensor in tensors {
            precondition(
                tensor.shape.reduce(1, *) == tensor.values.count,
                "safetensors: \(tensor.name) shape \(tensor.shape) does not hold its values")
            let end = offset + 4 * tensor.values.count
            let shape = tensor.shape.map(String.init).joined(separator: ",")
            entries.append(JSONLiteral.string(tensor.name) + #":{"dtype":"F32","shape":[\#(shape)],"data_offsets":[\#(offset),\#(end)]}"#)
            offset = end
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        header += repeatElement(0x20, count: (8 - header.count % 8) % 8)
        var out: [UInt8] = []
        out.reserveCapacity(8 + header.count + offset)
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { out += $0 }
        out += header
        for tensor in tensors {
            for value in tensor.values { withUnsafeBytes(of: value.bitPattern.littleEndian) { out += $0 } }
        }
        return out
    }
}
