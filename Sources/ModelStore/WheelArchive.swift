import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal read-only zip reader for wheels: central directory (with zip64), local
/// headers, stored and deflated members (raw inflate through zlib), CRC-32 and size checks.
/// Every offset and length is bounded by the archive size, so a malformed or hostile
/// archive yields `StoreError.badArchive`, never a crash or an unbounded allocation.
struct WheelArchive {
    struct Entry {
        let name: String
        let method: UInt16
        let flags: UInt16
        let crc32: UInt32
        let compressedSize: Int64
        let uncompressedSize: Int64
        let localHeaderOffset: Int64
    }

    let path: String
    let size: Int64
    let entries: [Entry]
    private let centralDirectoryOffset: Int64

    init(path: String) throws {
        self.path = path
        let fd = try POSIX.open(path, O_RDONLY)
        defer { close(fd) }
        size = try POSIX.fileSize(fd, path: path)
        (entries, centralDirectoryOffset) = try WheelArchive.readCentralDirectory(fd: fd, size: size, path: path)
    }

    func entry(named member: String) -> Entry? { entries.first { $0.name == member } }

    // MARK: - Central directory

    private static func readCentralDirectory(fd: Int32, size: Int64, path: String) throws -> ([Entry], Int64) {
        func bad(_ detail: String) -> StoreError { .badArchive(path: path, detail: detail) }
        guard size >= 22 else { throw bad("file is \(size) bytes, too short for a zip end record (22 bytes)") }
        // The end-of-central-directory record is in the last 22 + 65535 bytes.
        let tailLength = Int(min(size, 22 + 65_535))
        let tail = try readBytes(fd: fd, at: size - Int64(tailLength), count: tailLength, path: path)
        var eocd = -1
        var i = tailLength - 22
        while i >= 0 {
            if tail[i] == 0x50, tail[i + 1] == 0x4b, tail[i + 2] == 0x05, tail[i + 3] == 0x06 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw bad("no end-of-central-directory record (not a zip file, or truncated)") }
        let eocdOffset = size - Int64(tailLength) + Int64(eocd)
        var r = ByteCursor(tail, at: eocd + 4)
        let disk = r.u16(), cdDisk = r.u16()
        _ = r.u16()
        var count = Int64(r.u16())
        var cdSize = Int64(r.u32())
        var cdOffset = Int64(r.u32())
        guard disk == 0, cdDisk == 0 else { throw bad("multi-disk archives are not supported") }

        if count == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            // zip64: locator (20 bytes) just before the EOCD points at the zip64 EOCD record.
            guard eocdOffset >= 20 else { throw bad("zip64 markers without a zip64 locator") }
            let loc = try readBytes(fd: fd, at: eocdOffset - 20, count: 20, path: path)
            var l = ByteCursor(loc, at: 0)
            guard l.u32() == 0x0706_4b50 else { throw bad("zip64 markers without a zip64 locator") }
            _ = l.u32()
            let recordOffset = Int64(bitPattern: l.u64())
            guard recordOffset >= 0, recordOffset + 56 <= eocdOffset - 20 else {
                throw bad("zip64 end record offset \(recordOffset) out of bounds")
            }
            let rec = try readBytes(fd: fd, at: recordOffset, count: 56, path: path)
            var z = ByteCursor(rec, at: 0)
            guard z.u32() == 0x0606_4b50 else { throw bad("bad zip64 end record signature") }
            z.skip(20)
            _ = z.u64()
            count = Int64(bitPattern: z.u64())
            cdSize = Int64(bitPattern: z.u64())
            cdOffset = Int64(bitPattern: z.u64())
        }
        guard cdOffset >= 0, cdSize >= 0, cdOffset + cdSize <= eocdOffset else {
            throw bad("central directory (offset \(cdOffset), \(cdSize) bytes) lies outside the \(size)-byte file")
        }
        guard count >= 0, count <= cdSize / 46 else {
            throw bad("\(count) entries cannot fit in a \(cdSize)-byte central directory")
        }
        let cd = try readBytes(fd: fd, at: cdOffset, count: Int(cdSize), path: path)
        var c = ByteCursor(cd, at: 0)
        var entries: [Entry] = []
        entries.reserveCapacity(Int(count))
        for index in 0..<count {
            guard c.remaining >= 46, c.u32() == 0x0201_4b50 else {
                throw bad("central directory entry \(index) is truncated or has a bad signature")
            }
            c.skip(4)
            let flags = c.u16(), method = c.u16()
            c.skip(4)
            let crc = c.u32()
            var csize = Int64(c.u32()), usize = Int64(c.u32())
            let nameLength = Int(c.u16()), extraLength = Int(c.u16()), commentLength = Int(c.u16())
            c.skip(8)
            var localOffset = Int64(c.u32())
            guard c.remaining >= nameLength + extraLength + commentLength else {
                throw bad("central directory entry \(index) overruns the directory")
            }
            let name = String(decoding: c.bytes(nameLength), as: UTF8.self)
            var extra = ByteCursor(c.bytes(extraLength), at: 0)
            c.skip(commentLength)
            // zip64 extended information: only the fields whose 32-bit value is saturated are present.
            while extra.remaining >= 4 {
                let id = extra.u16(), length = Int(extra.u16())
                guard extra.remaining >= length else { break }
                var field = ByteCursor(extra.bytes(length), at: 0)
                if id == 0x0001 {
                    if usize == 0xFFFF_FFFF, field.remaining >= 8 { usize = Int64(bitPattern: field.u64()) }
                    if csize == 0xFFFF_FFFF, field.remaining >= 8 { csize = Int64(bitPattern: field.u64()) }
                    if localOffset == 0xFFFF_FFFF, field.remaining >= 8 { localOffset = Int64(bitPattern: field.u64()) }
                }
            }
            guard csize >= 0, usize >= 0, localOffset >= 0, localOffset + 30 <= cdOffset, csize <= cdOffset - localOffset else {
                throw bad("entry \(name): sizes or offset out of bounds (offset \(localOffset), \(csize) compressed bytes)")
            }
            entries.append(
                Entry(
                    name: name, method: method, flags: flags, crc32: crc, compressedSize: csize,
                    uncompressedSize: usize, localHeaderOffset: localOffset))
        }
        return (entries, cdOffset)
    }

    // MARK: - Extraction

    /// Extracts `member` by writing (appending at the current position of) `outputFD`.
    /// Returns the number of bytes written. `progress` receives bytes written so far.
    @discardableResult
    func extract(
        _ member: String, to outputFD: Int32, outputPath: String,
        progress: ((Int64) -> Void)? = nil
    ) throws -> Int64 {
        func bad(_ detail: String) -> StoreError { .badArchive(path: path, detail: "member \(member): \(detail)") }
        guard let entry = entry(named: member) else { throw StoreError.archiveMemberMissing(path: path, member: member) }
        guard entry.flags & 1 == 0 else { throw bad("encrypted members are not supported") }
        let fd = try POSIX.open(path, O_RDONLY)
        defer { close(fd) }
        let header = try WheelArchive.readBytes(fd: fd, at: entry.localHeaderOffset, count: 30, path: path)
        var h = ByteCursor(header, at: 0)
        guard h.u32() == 0x0403_4b50 else { throw bad("bad local header signature at offset \(entry.localHeaderOffset)") }
        h.skip(22)
        let nameLength = Int64(h.u16()), extraLength = Int64(h.u16())
        let dataStart = entry.localHeaderOffset + 30 + nameLength + extraLength
        guard dataStart + entry.compressedSize <= centralDirectoryOffset else {
            throw bad("data (\(entry.compressedSize) bytes at offset \(dataStart)) runs past the end of the archive data")
        }

        let chunk = 1 << 18
        let input = UnsafeMutableRawPointer.allocate(byteCount: chunk, alignment: 16)
        defer { input.deallocate() }
        var crc: UInt = crc32(0, nil, 0)
        var written: Int64 = 0

        func emit(_ buffer: UnsafeRawBufferPointer) throws {
            guard buffer.count > 0 else { return }
            written += Int64(buffer.count)
            guard written <= entry.uncompressedSize else {
                throw bad("inflates to more than its declared \(entry.uncompressedSize) bytes")
            }
            crc = crc32(crc, buffer.baseAddress!.assumingMemoryBound(to: Bytef.self), uInt(buffer.count))
            try POSIX.writeAll(outputFD, buffer, path: outputPath)
            progress?(written)
        }

        switch entry.method {
        case 0:
            guard entry.compressedSize == entry.uncompressedSize else {
                throw bad("stored member has compressed size \(entry.compressedSize) but size \(entry.uncompressedSize)")
            }
            var offset: Int64 = 0
            while offset < entry.compressedSize {
                let want = Int(min(Int64(chunk), entry.compressedSize - offset))
                let n = try POSIX.preadFull(fd, input, want, dataStart + offset, path: path)
                guard n == want else { throw bad("truncated data") }
                try emit(UnsafeRawBufferPointer(start: input, count: n))
                offset += Int64(n)
            }
        case 8:
            try inflateRaw(fd: fd, dataStart: dataStart, entry: entry, input: input, chunk: chunk, bad: bad, emit: emit)
        default:
            throw bad("compression method \(entry.method) is not supported (only stored and deflate)")
        }
        guard written == entry.uncompressedSize else {
            throw bad("extracted \(written) bytes, expected \(entry.uncompressedSize)")
        }
        let actualCRC = UInt32(truncatingIfNeeded: crc)
        guard actualCRC == entry.crc32 else {
            throw bad("CRC-32 mismatch: expected \(hex32(entry.crc32)), got \(hex32(actualCRC))")
        }
        return written
    }

    private func inflateRaw(
        fd: Int32, dataStart: Int64, entry: Entry, input: UnsafeMutableRawPointer, chunk: Int,
        bad: (String) -> StoreError, emit: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deinitialize(count: 1); stream.deallocate() }
        // windowBits -15: raw deflate data (zip members carry no zlib header).
        guard inflateInit2_(stream, -15, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw bad("zlib inflateInit2 failed")
        }
        defer { inflateEnd(stream) }
        let output = UnsafeMutablePointer<Bytef>.allocate(capacity: chunk)
        defer { output.deallocate() }
        var consumed: Int64 = 0
        var finished = false
        while !finished {
            if stream.pointee.avail_in == 0 {
                guard consumed < entry.compressedSize else { throw bad("compressed data ends before the deflate stream does (truncated)") }
                let want = Int(min(Int64(chunk), entry.compressedSize - consumed))
                let n = try POSIX.preadFull(fd, input, want, dataStart + consumed, path: path)
                guard n == want else { throw bad("truncated data") }
                consumed += Int64(n)
                stream.pointee.next_in = input.assumingMemoryBound(to: Bytef.self)
                stream.pointee.avail_in = uInt(n)
            }
            stream.pointee.next_out = output
            stream.pointee.avail_out = uInt(chunk)
            let rc = inflate(stream, Z_NO_FLUSH)
            let produced = chunk - Int(stream.pointee.avail_out)
            try emit(UnsafeRawBufferPointer(start: output, count: produced))
            switch rc {
            case Z_STREAM_END: finished = true
            case Z_OK: break
            case Z_BUF_ERROR where produced > 0 || stream.pointee.avail_in == 0: break
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                throw bad("corrupt deflate data: \(message)")
            }
        }
    }

    private static func readBytes(fd: Int32, at offset: Int64, count: Int, path: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = try bytes.withUnsafeMutableBytes { try POSIX.preadFull(fd, $0.baseAddress!, count, offset, path: path) }
        guard n == count else { throw StoreError.badArchive(path: path, detail: "unexpected end of file at offset \(offset + Int64(n))") }
        return bytes
    }
}

private func hex32(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - s.count) + s
}

/// Little-endian reader over a byte array; callers check `remaining` before reading.
private struct ByteCursor {
    let data: [UInt8]
    var position: Int
    init<C: Collection>(_ data: C, at position: Int) where C.Element == UInt8 { self.data = Array(data); self.position = position }
    var remaining: Int { data.count - position }
    mutating func skip(_ n: Int) { position = min(data.count, position + n) }
    mutating func u16() -> UInt16 { UInt16(truncatingIfNeeded: uint(2)) }
    mutating func u32() -> UInt32 { UInt32(truncatingIfNeeded: uint(4)) }
    mutating func u64() -> UInt64 { uint(8) }
    mutating func bytes(_ n: Int) -> ArraySlice<UInt8> {
        let end = min(data.count, position + n)
        defer { position = end }
        return data[position..<end]
    }
    private mutating func uint(_ n: Int) -> UInt64 {
        var v: UInt64 = 0
        for i in 0..<n where position + i < data.count { v |= UInt64(data[position + i]) << (8 * UInt64(i)) }
        position = min(data.count, position + n)
        return v
    }
}
