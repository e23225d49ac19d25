import ImageData
import Testing

@Suite struct IDXReaderTests {
    let names = ["a", "b", "c"]

    @Test func readsUncompressedFilesTheTestWrites() throws {
        let scratch = ScratchDirectory()
        let images = scratch.write("i", idxImages(count: 2, height: 2, width: 3, pixels: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]))
        let labels = scratch.write("l", idxLabels([2, 0]))
        let set = try IDXReader.read(images: images, labels: labels, classNames: names)
        #expect(set.count == 2 && set.channels == 1 && set.height == 2 && set.width == 3)
        #expect(set.pixels == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12])
        #expect(set.labels == [2, 0])
        #expect(set.classNames == names)
    }

    /// Fixtures/small-*.gz were written at dev time with Python's gzip module: 3 images of 2×3
    /// whose pixels are 0, 10, 20, …, 170 in order, labels 2, 0, 1.
    @Test func readsGzipFixture() throws {
        let set = try IDXReader.read(
            images: Fixtures.path("small-images-idx3-ubyte.gz"), labels: Fixtures.path("small-labels-idx1-ubyte.gz"), classNames: names)
        #expect(set.count == 3 && set.height == 2 && set.width == 3)
        #expect(set.pixels == (0..<18).map { UInt8($0 * 10) })
        #expect(set.labels == [2, 0, 1])
    }

    @Test func refusesHostileFiles() throws {
        let scratch = ScratchDirectory()
        let labels = scratch.write("labels", idxLabels([0, 1]))
        let good = idxImages(count: 2, height: 2, width: 2, pixels: [UInt8](repeating: 7, count: 8))
        func imagesError(_ bytes: [UInt8]) -> String? {
            let path = scratch.write("images", bytes)
            return failure { _ = try IDXReader.read(images: path, labels: labels, classNames: names) }
        }
        // Truncated header and truncated data.
        #expect(imagesError(Array(good[0..<10]))?.contains("truncated") == true)
        #expect(imagesError(Array(good[0..<20]))?.contains("header claims 8 data bytes") == true)
        // Wrong magic: labels given as images.
        #expect(imagesError(idxLabels([0, 1]))?.contains("magic number 0x00000801 is not 0x00000803") == true)
        // Sizes whose product is far larger than the file (and than memory): refused before allocating.
        #expect(imagesError(idxImages(count: 2, height: 0xFFFF_FFFF, width: 0xFFFF_FFFF, pixels: []))?.contains("too large") == true)
        #expect(imagesError(idxImages(count: 2, height: 30000, width: 30000, pixels: [1, 2]))?.contains("the file holds") == true)
        // Count mismatch.
        #expect(imagesError(idxImages(count: 1, height: 2, width: 2, pixels: [1, 2, 3, 4]))?.contains("must match") == true)
        // Trailing data.
        #expect(imagesError(good + [9])?.contains("more data follows") == true)
        // Every error names the file.
        #expect(imagesError(Array(good[0..<3]))?.contains(scratch.path + "/images") == true)
    }

    @Test func gzipFilesTheTestWrites() throws {
        let scratch = ScratchDirectory()
        let labels = scratch.write("labels.gz", gzipStored(idxLabels([1, 2])))
        let images = scratch.write("images.gz", gzipStored(idxImages(count: 2, height: 1, width: 3, pixels: [9, 8, 7, 6, 5, 4])))
        let set = try IDXReader.read(images: images, labels: labels, classNames: names)
        #expect(set.pixels == [9, 8, 7, 6, 5, 4] && set.labels == [1, 2])
        // A claim within deflate's 1032:1 reach but beyond the data: truncated at the real end.
        let short = scratch.write("short.gz", gzipStored(idxImages(count: 2, height: 10, width: 10, pixels: [1, 2, 3])))
        #expect(
            failure { _ = try IDXReader.read(images: short, labels: labels, classNames: names) }?
                .contains("short.gz: truncated: 2 images of 10×10 pixels needs 200 bytes, only 3 remain") == true)
        // A claim beyond what the compressed size can expand to: refused from the header.
        let bomb = scratch.write("bomb.gz", gzipStored(idxImages(count: 2, height: 1000, width: 1000, pixels: [1])))
        #expect(
            failure { _ = try IDXReader.read(images: bomb, labels: labels, classNames: names) }?
                .contains("bomb.gz: header claims 2000000 data bytes") == true)
    }

    @Test func refusesBadLabels() throws {
        let scratch = ScratchDirectory()
        let images = scratch.write("images", idxImages(count: 2, height: 1, width: 1, pixels: [1, 2]))
        let labels = scratch.write("labels", idxLabels([0, 3]))
        let message = failure { _ = try IDXReader.read(images: images, labels: labels, classNames: names) }
        #expect(message?.contains("label 3 of item 1 is not below 3") == true)
    }

    @Test func refusesCorruptGzip() throws {
        let scratch = ScratchDirectory()
        var bytes = Fixtures.bytes("small-images-idx3-ubyte.gz")
        bytes[bytes.count / 2] ^= 0xFF
        bytes[bytes.count / 2 + 1] ^= 0x5A
        let images = scratch.write("images.gz", bytes)
        let truncated = scratch.write("cut.gz", Array(Fixtures.bytes("small-images-idx3-ubyte.gz").dropLast(12)))
        let labels = Fixtures.path("small-labels-idx1-ubyte.gz")
        let corrupt = failure { _ = try IDXReader.read(images: images, labels: labels, classNames: names) }
        #expect(corrupt != nil && corrupt!.contains("images.gz"))
        let cut = failure { _ = try IDXReader.read(images: truncated, labels: labels, classNames: names) }
        #expect(cut != nil && cut!.contains("cut.gz"))
    }

    @Test func missingFileIsNamed() {
        let message = failure { _ = try IDXReader.read(images: "/nonexistent/x", labels: "/nonexistent/y", classNames: names) }
        #expect(message?.contains("/nonexistent/y: cannot open") == true)
    }
}
