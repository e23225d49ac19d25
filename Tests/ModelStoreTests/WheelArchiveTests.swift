import CZlib
import Foundation
import Testing

@testable import ModelStore

/// Builds zip archives byte by byte (stored and raw-deflated members).
struct ZipBuilder {
    struct Member { let name: String; let data: [UInt8]; let deflate: Bool }
    var members: [Member] = []
    /// Hooks to corrupt the result: (name, crc) → crc written to the central directory.
    var centralCRCOverride: [String: UInt32] = [:]

    static func crc(_ data: [UInt8]) -> UInt32 {
        UInt32(data.withUnsafeBufferPointer { crc32(0, $0.baseAddress, uInt($0.count)) })
    }

    static func rawDeflate(_ data: [UInt8]) -> [UInt8] {
        var stream = z_stream()
        precondition(
            deflateInit2_(
                &stream, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY,
                zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK)
        defer { deflateEnd(&stream) }
        var input = data
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(data.count))) + 64)
        let produced = input.withUnsafeMutableBufferPointer { inp in
            output.withUnsafeMutableBufferPointer { out -> Int in
                stream.next_in = inp.baseAddress
                stream.avail_in = uInt(inp.count)
                stream.next_out = out.baseAddress
                stream.avail_out = uInt(out.count)
                precondition(deflate(&stream, Z_FINISH) == Z_STREAM_END)
                return out.count - Int(stream.avail_out)
            }
        }
        return Array(output.prefix(produced))
    }

    func build() -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        func u16(_ v: Int, _ b: inout [UInt8]) { b += [UInt8(v & 0xff), UInt8((v >> 8) & 0xff)] }
        func u32(_ v: UInt32, _ b: inout [UInt8]) { for i in 0..<4 { b.append(UInt8((v >> (8 * UInt32(i))) & 0xff)) } }
        for m in members {
            let payload = m.deflate ? ZipBuilder.rawDeflate(m.data) : m.data
            let crc = ZipBuilder.crc(m.data)
            let offset = UInt32(out.count)
            let name = Array(m.name.utf8)
            u32(0x0403_4b50, &out); u16(20, &out); u16(0, &out); u16(m.deflate ? 8 : 0, &out)
            u16(0, &out); u16(0, &out); u32(crc, &out)
            u32(UInt32(payload.count), &out); u32(UInt32(m.data.count), &out)
            u16(name.count, &out); u16(0, &out); out += name; out += payload

            u32(0x0201_4b50, &central); u16(20, &central); u16(20, &central); u16(0, &central)
            u16(m.deflate ? 8 : 0, &central); u16(0, &central); u16(0, &central)
            u32(centralCRCOverride[m.name] ?? crc, &central)
            u32(UInt32(payload.count), &central); u32(UInt32(m.data.count), &central)
            u16(name.count, &central); u16(0, &central); u16(0, &central); u16(0, &central); u16(0, &central)
            u32(0, &central); u32(offset, &central); central += name
        }
        let cdOffset = UInt32(out.count)
        out += central
        u32(0x0605_4b50, &out); u16(0, &out); u16(0, &out)
        u16(members.count, &out); u16(members.count, &out)
        u32(UInt32(central.count), &out); u32(cdOffset, &out); u16(0, &out)
        return out
    }
}

@Suite struct WheelArchiveTests {
    let scratch = TemporaryDirectories()
    let text = Array("hello, wheel\n".utf8)
    let binary: [UInt8] = (0..<300_000).map { UInt8(truncatingIfNeeded: ($0 * 7) ^ ($0 >> 5)) }

    func archive(_ builder: ZipBuilder) throws -> String {
        let path = try scratch.make() + "/test.whl"
        try writeFile(path, builder.build())
        return path
    }

    func extract(_ archivePath: String, _ member: String) throws -> [UInt8] {
        let out = archivePath + "." + member.replacingOccurrences(of: "/", with: "_") + ".out"
        let fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        #expect(fd >= 0)
        defer { close(fd) }
        let written = try WheelArchive(path: archivePath).extract(member, to: fd, outputPath: out)
        let bytes = readFile(out) ?? []
        #expect(Int64(bytes.count) == written)
        return bytes
    }

    @Test func storedAndDeflatedMembers() throws {
        let path = try archive(
            ZipBuilder(members: [
                .init(name: "pkg/a.txt", data: text, deflate: false),
                .init(name: "pkg/data/b.bin", data: binary, deflate: true),
            ]))
        let zip = try WheelArchive(path: path)
        #expect(zip.entries.map(\.name) == ["pkg/a.txt", "pkg/data/b.bin"])
        #expect(zip.entries[1].method == 8)
        #expect(zip.entries[1].compressedSize < Int64(binary.count))
        #expect(try extract(path, "pkg/a.txt") == text)
        #expect(try extract(path, "pkg/data/b.bin") == binary)
    }

    @Test func missingMember() throws {
        let path = try archive(ZipBuilder(members: [.init(name: "a", data: text, deflate: false)]))
        expectStoreError(["has no member", "nope.gguf", path]) { _ = try extract(path, "nope.gguf") }
    }

    @Test func truncatedArchive() throws {
        let full = ZipBuilder(members: [.init(name: "b", data: binary, deflate: true)]).build()
        let path = try scratch.make() + "/cut.whl"
        try writeFile(path, Array(full.prefix(full.count / 2)))
        expectStoreError(["malformed zip archive", path, "end-of-central-directory"]) { _ = try WheelArchive(path: path) }
        try writeFile(path, Array(full.prefix(10)))
        expectStoreError(["too short"]) { _ = try WheelArchive(path: path) }
    }

    @Test func badCRC() throws {
        var builder = ZipBuilder(members: [
            .init(name: "s", data: text, deflate: false),
            .init(name: "d", data: binary, deflate: true),
        ])
        builder.centralCRCOverride = ["s": 0xDEAD_BEEF, "d": 0x0BAD_F00D]
        let path = try archive(builder)
        expectStoreError(["member s", "CRC-32 mismatch", "0xdeadbeef"]) { _ = try extract(path, "s") }
        expectStoreError(["member d", "CRC-32 mismatch", "0x0badf00d"]) { _ = try extract(path, "d") }
    }

    @Test func corruptDeflateData() throws {
        var bytes = ZipBuilder(members: [.init(name: "d", data: binary, deflate: true)]).build()
        // Overwrite the start of the compressed stream (local header is 30 + 1 bytes).
        for i in 31..<61 { bytes[i] = 0xFF }
        let path = try scratch.make() + "/corrupt.whl"
        try writeFile(path, bytes)
        expectStoreError(["member d"]) { _ = try extract(path, "d") }
    }

    @Test func hostileCentralDirectory() throws {
        var bytes = ZipBuilder(members: [.init(name: "s", data: text, deflate: false)]).build()
        let eocd = bytes.count - 22
        // Central directory offset far beyond the end of the file.
        bytes[eocd + 16] = 0xFF; bytes[eocd + 17] = 0xFF; bytes[eocd + 18] = 0xFF; bytes[eocd + 19] = 0x7F
        let dir = try scratch.make()
        try writeFile(dir + "/h1.whl", bytes)
        expectStoreError(["central directory", "outside"]) { _ = try WheelArchive(path: dir + "/h1.whl") }
        // Entry claims a huge compressed size.
        var b2 = ZipBuilder(members: [.init(name: "s", data: text, deflate: false)]).build()
        let cd = b2.count - 22 - (46 + 1)
        b2[cd + 20] = 0xFF; b2[cd + 21] = 0xFF; b2[cd + 22] = 0xFF; b2[cd + 23] = 0x7F
        try writeFile(dir + "/h2.whl", b2)
        expectStoreError(["out of bounds"]) { _ = try WheelArchive(path: dir + "/h2.whl") }
        // Not a zip at all.
        try writeFile(dir + "/h3.whl", [UInt8](repeating: 0x41, count: 5000))
        expectStoreError(["no end-of-central-directory"]) { _ = try WheelArchive(path: dir + "/h3.whl") }
    }
}
