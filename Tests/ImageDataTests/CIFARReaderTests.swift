import ImageData
import Testing

@Suite struct CIFARReaderTests {
    /// A record whose red plane is all `red`, green plane counts 0, 1, … (mod 256) and blue plane is `blue`,
    /// so the channel-planar result is checkable by hand.
    static func record(labels: [UInt8], red: UInt8, blue: UInt8) -> [UInt8] {
        labels + [UInt8](repeating: red, count: 1024) + (0..<1024).map { UInt8($0 % 256) } + [UInt8](repeating: blue, count: 1024)
    }

    @Test func cifar10RecordsBecomeCHW() throws {
        let scratch = ScratchDirectory()
        let first = scratch.write("a.bin", Self.record(labels: [3], red: 200, blue: 7) + Self.record(labels: [9], red: 1, blue: 2))
        let second = scratch.write("b.bin", Self.record(labels: [0], red: 5, blue: 6))
        let set = try CIFARReader.read(files: [first, second], variant: .cifar10)
        #expect(set.count == 3 && set.channels == 3 && set.height == 32 && set.width == 32)
        #expect(set.labels == [3, 9, 0])
        #expect(set.classNames[3] == "cat" && set.classNames[9] == "truck")
        #expect(set.pixels.count == 3 * 3072)
        // Image 1: red plane 1s, green plane at (row 1, column 5) = (32 + 5) % 256, blue plane 2s.
        #expect(set.pixels[3072 + 0] == 1 && set.pixels[3072 + 1023] == 1)
        #expect(set.pixels[3072 + 1024 + 37] == 37 && set.pixels[3072 + 1024 + 1023] == 255)
        #expect(set.pixels[3072 + 2048] == 2 && set.pixels[2 * 3072 + 2048 + 1023] == 6)
        #expect(set.pixels[0] == 200 && set.pixels[2047 + 1] == 7)
    }

    @Test func cifar100FineAndCoarseLabels() throws {
        let scratch = ScratchDirectory()
        let file = scratch.write(
            "train.bin", Self.record(labels: [19, 99], red: 1, blue: 2) + Self.record(labels: [4, 30], red: 3, blue: 4))
        let fine = try CIFARReader.read(files: [file], variant: .cifar100Fine)
        let coarse = try CIFARReader.read(files: [file], variant: .cifar100Coarse)
        #expect(fine.labels == [99, 30] && fine.classNames.count == 100)
        #expect(coarse.labels == [19, 4] && coarse.classNames.count == 20)
        #expect(fine.pixels[3072] == 3 && fine.pixels[3072 + 2048] == 4 && fine.pixels[1024 + 300] == UInt8(300 % 256))
    }

    @Test func refusesBadFiles() throws {
        let scratch = ScratchDirectory()
        let short = scratch.write("short.bin", Array(Self.record(labels: [1], red: 0, blue: 0).dropLast()))
        #expect(
            failure { _ = try CIFARReader.read(files: [short], variant: .cifar10) }?
                .contains("short.bin: 3072 bytes is not a positive multiple of the 3073-byte") == true)
        let empty = scratch.write("empty.bin", [])
        #expect(failure { _ = try CIFARReader.read(files: [empty], variant: .cifar10) }?.contains("empty.bin: 0 bytes") == true)
        let badLabel = scratch.write("label.bin", Self.record(labels: [1], red: 0, blue: 0) + Self.record(labels: [10], red: 0, blue: 0))
        #expect(
            failure { _ = try CIFARReader.read(files: [badLabel], variant: .cifar10) }?
                .contains("label.bin: record 1 has label 10, not below 10") == true)
        let coarse = scratch.write("coarse.bin", Self.record(labels: [20, 5], red: 0, blue: 0))
        #expect(failure { _ = try CIFARReader.read(files: [coarse], variant: .cifar100Coarse) }?.contains("label 20") == true)
        #expect(failure { _ = try CIFARReader.read(files: [], variant: .cifar10) } != nil)
        // A CIFAR-100 file read as CIFAR-10: 3074 is not a multiple of 3073.
        #expect(failure { _ = try CIFARReader.read(files: [coarse], variant: .cifar10) }?.contains("3073-byte") == true)
    }
}
