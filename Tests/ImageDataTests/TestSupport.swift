import Glibc
import ImageData

/// A scratch directory for files a test writes, removed at the end.
final class ScratchDirectory {
    let path: String

    init() {
        var template = Array("/tmp/atelier-imagedata-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }

    deinit {
        if let directory = opendir(path) {
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
                if name != "." && name != ".." { unlink(path + "/" + name) }
            }
            closedir(directory)
        }
        rmdir(path)
    }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) -> String {
        let file = path + "/" + name
        let handle = fopen(file, "wb")!
        _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, handle) }
        fclose(handle)
        return file
    }
}

enum Fixtures {
    static func path(_ name: String) -> String {
        let here = #filePath
        return String(here[..<here.lastIndex(of: "/")!]) + "/Fixtures/" + name
    }

    static func bytes(_ name: String) -> [UInt8] {
        let handle = fopen(path(name), "rb")!
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { fread($0.baseAddress, 1, 4096, handle) }
            if n == 0 { break }
            bytes += buffer[0..<n]
        }
        return bytes
    }
}

func bigEndian(_ values: [UInt32]) -> [UInt8] {
    values.flatMap { value in (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
}

func idxImages(count: UInt32, height: UInt32, width: UInt32, pixels: [UInt8]) -> [UInt8] {
    bigEndian([0x803, count, height, width]) + pixels
}

func idxLabels(_ labels: [UInt8]) -> [UInt8] { bigEndian([0x801, UInt32(labels.count)]) + labels }

/// The error's description, or nil when `body` did not throw an ImageDataError.
func failure(_ body: () throws -> Void) -> String? {
    do {
        try body()
        return nil
    } catch let error as ImageDataError {
        return error.description
    } catch {
        return "unexpected error type: \(error)"
    }
}

func usleepForTest(_ microseconds: UInt32) { usleep(microseconds) }

/// A gzip file (RFC 1952) holding `data` in one stored (uncompressed) deflate block, at most 65535 bytes.
func gzipStored(_ data: [UInt8]) -> [UInt8] {
    precondition(data.count <= 0xFFFF)
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in data {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    crc = ~crc
    let length = UInt16(data.count)
    func little32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    return [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255] + [
        1, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8(~length >> 8),
    ]
        + data + little32(crc) + little32(UInt32(data.count))
}
