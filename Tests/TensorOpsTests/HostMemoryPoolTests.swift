import Tensors
import Testing

@testable import TensorOps

/// The pool keeps freed buffers for reuse up to the largest live set plus an eighth, and returns
/// what is past that to the system.
@Suite struct HostMemoryPoolTests {
    static let mebibyte = 1 << 20

    @Test func reusesAFreedBufferOfTheSameSize() {
        let pool = HostMemoryPool()
        var a: DeviceBuffer? = pool.buffer(byteCount: Self.mebibyte)
        let address = a!.address
        #expect(pool.usage.live == Self.mebibyte && pool.usage.peakLive == Self.mebibyte)
        a = nil
        #expect(pool.usage.live == 0 && pool.usage.free == Self.mebibyte)
        let again = pool.buffer(byteCount: Self.mebibyte - 100)  // the same bucket
        #expect(again.address == address && pool.usage.free == 0)
        withExtendedLifetime(again) {}
    }

    @Test func releasesWhatIsPastAnEighthAboveThePeak() {
        let pool = HostMemoryPool()
        // Peak 2 MiB live, both kept when freed.
        var pair: [DeviceBuffer] = [pool.buffer(byteCount: Self.mebibyte), pool.buffer(byteCount: Self.mebibyte)]
        #expect(pool.usage.peakLive == 2 * Self.mebibyte)
        pair.removeAll()
        #expect(pool.usage.free == 2 * Self.mebibyte)
        // Two 256 KiB buffers of another bucket (fresh memory: no kept buffer has their size). Freed,
        // the first fits the cap of 2.25 MiB, the second does not and goes back to the system.
        var small: [DeviceBuffer] = [pool.buffer(byteCount: Self.mebibyte / 4), pool.buffer(byteCount: Self.mebibyte / 4)]
        #expect(pool.usage.peakLive == 2 * Self.mebibyte && pool.usage.free == 2 * Self.mebibyte)
        small.removeAll()
        #expect(pool.usage.live == 0 && pool.usage.free == 2 * Self.mebibyte + Self.mebibyte / 4)
    }
}
