import CZlib

/// Decompressed bytes of a gzip stream, produced on demand through zlib's inflate (window bits
/// 15 + 16: gzip framing, whose CRC-32 and length zlib checks at the end of each member).
/// Memory stays at two fixed buffers whatever the archive holds. Concatenated members are read
/// as one stream, as gzip(1) does; zero bytes after the last member (tape padding) are allowed,
/// anything else after it is an error.
public final class GzipInflater {
    /// Fills the buffer with compressed bytes; 0 at the end of the input.
    public typealias CompressedSource = (UnsafeMutableRawBufferPointer) throws -> Int

    public struct Failure: Error { public let detail: String }

    private let source: CompressedSource
    private let stream: UnsafeMutablePointer<z_stream>
    private let input: UnsafeMutableRawBufferPointer
    private var inputEnded = false
    private var finished = false
    /// Compressed bytes handed to zlib so far, for messages.
    public private(set) var compressedOffset: Int64 = 0
    public private(set) var decompressedCount: Int64 = 0

    public init(chunkBytes: Int = 1 << 18, source: @escaping CompressedSource) throws {
        self.source = source
        input = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
        stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard inflateInit2_(stream, 15 + 16, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deinitialize(count: 1)
            stream.deallocate()
            input.deallocate()
            throw Failure(detail: "zlib could not start an inflate stream")
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
        input.deallocate()
    }

    /// Fills as much of `buffer` as one step of inflate gives; returns 0 only at the end of the data.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard buffer.count > 0 else { return 0 }
        while !finished {
            if stream.pointee.avail_in == 0 {
                guard try refill() else {
                    throw Failure(detail: "the gzip data ends after \(compressedOffset) compressed bytes, before its end (truncated)")
                }
            }
            stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.pointee.avail_out = uInt(buffer.count)
            let before = stream.pointee.avail_in
            let rc = inflate(stream, Z_NO_FLUSH)
            compressedOffset += Int64(before - stream.pointee.avail_in)
            let produced = buffer.count - Int(stream.pointee.avail_out)
            decompressedCount += Int64(produced)
            switch rc {
            case Z_STREAM_END: try finishMember()
            case Z_OK: break
            case Z_BUF_ERROR where stream.pointee.avail_in == 0: break
            default:
                let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(rc)"
                throw Failure(detail: "corrupt gzip data near compressed byte \(compressedOffset): \(message)")
            }
            if produced > 0 { return produced }
        }
        return 0
    }

    /// Reads and drops everything left, so that the gzip trailer (CRC-32, length) of the last
    /// member is checked even when the reader above stops early.
    public func drain(limit: Int64) throws {
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 16, alignment: 16)
        defer { scratch.deallocate() }
        while try read(into: scratch) > 0 {
            guard decompressedCount <= limit else {
                throw Failure(detail: "decompresses to more than the \(limit)-byte limit")
            }
        }
    }

    private func refill() throws -> Bool {
        guard !inputEnded else { return false }
        let n = try source(input)
        guard n > 0 else {
            inputEnded = true
            return false
        }
        stream.pointee.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_in = uInt(n)
        return true
    }

    /// After a member's trailer: another member follows, or only zero padding, or the end.
    private func finishMember() throws {
        while true {
            if stream.pointee.avail_in == 0, try !refill() {
                finished = true
                return
            }
            let next = stream.pointee.next_in!
            let available = Int(stream.pointee.avail_in)
            if next[0] == 0x1f {
                guard inflateReset(stream) == Z_OK else { throw Failure(detail: "zlib could not start the next gzip member") }
                return
            }
            for i in 0..<available where next[i] != 0 {
                throw Failure(detail: "unexpected data after the gzip stream at compressed byte \(compressedOffset + Int64(i))")
            }
            compressedOffset += Int64(available)
            stream.pointee.avail_in = 0
        }
    }
}
