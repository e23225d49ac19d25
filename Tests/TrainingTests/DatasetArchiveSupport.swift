import CZlib
import Foundation

/// Tar archives and gzip streams written by the tests themselves (the reader is checked against
/// the formats' definitions, not against its own output).
enum TestTar {
    /// A 512-byte header. `checksum` nil: the correct one.
    static func header(
        name: String, size: Int, type: UInt8 = UInt8(ascii: "0"), prefix: String = "", magic: String = "ustar\u{0}",
        checksum: Int? = nil, rawSize: [UInt8]? = nil
    ) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: [UInt8], at offset: Int) { for (i, b) in bytes.enumerated() { block[offset + i] = b } }
        func octal(_ value: Int, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: width - 1 - digits.count) + digits).utf8) + [0]
        }
        put(Array(name.utf8.prefix(100)), at: 0)
        put(octal(0o644, width: 8), at: 100)
        put(octal(0, width: 8), at: 108)
        put(octal(0, width: 8), at: 116)
        put(rawSize ?? octal(size, width: 12), at: 124)
        put(octal(1_700_000_000, width: 12), at: 136)
        block[156] = type
        put(Array(magic.utf8), at: 257)
        put(magic == "ustar\u{0}" ? Array("00".utf8) : Array(" \u{0}".utf8), at: 263)
        put(Array(prefix.utf8), at: 345)
        put(Array(repeating: UInt8(ascii: " "), count: 8), at: 148)
        let sum = checksum ?? block.reduce(0) { $0 + Int($1) }
        put(octal(sum, width: 7) + [UInt8(ascii: " ")], at: 148)
        return block
    }

    static func padded(_ data: [UInt8]) -> [UInt8] {
        data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    static func file(_ name: String, _ text: String, prefix: String = "") -> [UInt8] {
        let data = Array(text.utf8)
        return header(name: name, size: data.count, prefix: prefix) + padded(data)
    }

    /// A pax extended header ('x') with the given records, for the member that follows.
    static func pax(_ records: [(String, String)]) -> [UInt8] {
        var body: [UInt8] = []
        for (key, value) in records {
            let content = " \(key)=\(value)\n"
            var length = content.utf8.count + 1
            while String(length).count + content.utf8.count != length { length += 1 }
            body += Array((String(length) + content).utf8)
        }
        return header(name: "PaxHeaders/x", size: body.count, type: UInt8(ascii: "x")) + padded(body)
    }

    /// A GNU long-name record ('L') naming the member that follows.
    static func longName(_ name: String) -> [UInt8] {
        let body = Array(name.utf8) + [0]
        return header(name: "././@LongLink", size: body.count, type: UInt8(ascii: "L"), magic: "ustar ") + padded(body)
    }

    static let end = [UInt8](repeating: 0, count: 1024)
}

enum TestGzip {
    /// `bytes` compressed as one gzip member (zlib's deflate, window bits 15 + 16).
    static func compress(_ bytes: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        let rc = deflateInit2_(&stream, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        precondition(rc == Z_OK)
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(bytes.count))) + 64)
        var input = bytes
        let produced = input.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                stream.next_in = inBuffer.baseAddress
                stream.avail_in = uInt(inBuffer.count)
                stream.next_out = outBuffer.baseAddress
                stream.avail_out = uInt(outBuffer.count)
                precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
                return outBuffer.count - Int(stream.avail_out)
            }
        }
        return Array(output[..<produced])
    }
}

/// A fresh directory under the system's temporary directory, removed by `remove()`.
struct DatasetScratch {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/atelier-datasets-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CocoaError(.fileWriteUnknown)
        }
        path = String(cString: made)
    }

    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = path + "/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: file))
        return file
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
