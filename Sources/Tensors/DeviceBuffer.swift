#if canImport(Glibc)
import Glibc
#endif

/// Memory owned by a backend. For the CPU backend `address` is host memory; a GPU backend's
/// buffers hold device addresses that only its own kernels dereference.
public final class DeviceBuffer: @unchecked Sendable {
    // @unchecked: a buffer is only written by kernels that the owning backend runs; the
    // backend serialises its work.
    public let address: UnsafeMutableRawPointer
    public let byteCount: Int
    private let release: @Sendable (UnsafeMutableRawPointer) -> Void

    public init(address: UnsafeMutableRawPointer, byteCount: Int, release: @escaping @Sendable (UnsafeMutableRawPointer) -> Void) {
        self.address = address
        self.byteCount = byteCount
        self.release = release
    }

    /// Zeroed host memory, 64-byte aligned for SIMD loads. Large buffers come straight from
    /// `mmap`, whose pages the kernel zeroes on first touch: a 2048-token KV cache or a 512-row
    /// batch buffer occupies memory only for the positions and rows actually used, instead of
    /// all of it from the start (as `memset` would make it).
    public static func host(byteCount: Int) -> DeviceBuffer {
        let size = max(byteCount, 64)
        if size >= 1 << 18,
            let mapped = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
            mapped != MAP_FAILED
        {
            return DeviceBuffer(address: mapped, byteCount: byteCount, release: { munmap($0, size) })
        }
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        pointer.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        return DeviceBuffer(address: pointer, byteCount: byteCount, release: { $0.deallocate() })
    }

    deinit { release(address) }
}
