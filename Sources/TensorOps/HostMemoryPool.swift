import Synchronization
import Tensors

#if canImport(Glibc)
import Glibc
#endif

/// Recycles host buffers by size. A training step allocates the same activation and gradient
/// shapes every step; handing freed buffers back, instead of returning them to the system, spares
/// each step the page faults of fresh memory (every large `malloc` is a new `mmap`). The pool holds
/// at most what the previous step had live at once, so peak memory is the live set's peak.
final class HostMemoryPool: Sendable {
    /// Free buffers by bucket size, as address bit patterns (Sendable).
    private let free = Mutex<[Int: [UInt]]>([:])

    /// `byteCount` bytes, 64-byte aligned, contents undefined.
    func buffer(byteCount: Int) -> DeviceBuffer {
        let size = HostMemoryPool.bucket(byteCount)
        let reused = free.withLock { lists -> UInt? in lists[size]?.popLast() }
        let address =
            reused.flatMap { UnsafeMutableRawPointer(bitPattern: $0) } ?? UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        return DeviceBuffer(address: address, byteCount: byteCount) { [self] address in
            let bits = UInt(bitPattern: address)
            free.withLock { lists in lists[size, default: []].append(bits) }
        }
    }

    /// Sizes round up to a 1/8 step of their power of two, so slightly different shapes share a bucket.
    static func bucket(_ byteCount: Int) -> Int {
        let size = max(byteCount, 64)
        let power = Int.bitWidth - (size - 1).leadingZeroBitCount
        let step = max(64, 1 << max(0, power - 4))
        return (size + step - 1) / step * step
    }

    deinit {
        free.withLock { lists in
            for list in lists.values { for bits in list { UnsafeMutableRawPointer(bitPattern: bits)?.deallocate() } }
        }
    }
}
