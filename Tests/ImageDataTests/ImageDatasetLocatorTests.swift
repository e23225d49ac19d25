import Glibc
import ImageData
import Testing

@Suite struct ImageDatasetLocatorTests {
    @Test func idxDirectoryWithGzipAndPlainFiles() throws {
        let scratch = ScratchDirectory()
        scratch.write("train-images-idx3-ubyte.gz", Fixtures.bytes("small-images-idx3-ubyte.gz"))
        scratch.write("train-labels-idx1-ubyte.gz", Fixtures.bytes("small-labels-idx1-ubyte.gz"))
        scratch.write("t10k-images-idx3-ubyte", idxImages(count: 1, height: 2, width: 3, pixels: [1, 2, 3, 4, 5, 6]))
        scratch.write("t10k-labels-idx1-ubyte", idxLabels([7]))
        let (train, test) = try ImageDatasetLocator.locate(scratch.path)
        #expect(train.count == 3 && test.count == 1 && test.labels == [7])
        #expect(train.classNames == ClassNames.mnist)
    }

    @Test func cifar10DirectoryWithMetaNames() throws {
        let scratch = ScratchDirectory()
        for index in 1...5 { scratch.write("data_batch_\(index).bin", CIFARReaderTests.record(labels: [UInt8(index)], red: 0, blue: 0)) }
        scratch.write("test_batch.bin", CIFARReaderTests.record(labels: [9], red: 0, blue: 0))
        scratch.write("batches.meta.txt", Array("p0\np1\np2\np3\np4\np5\np6\np7\np8\np9\n\n".utf8))
        let (train, test) = try ImageDatasetLocator.locate(scratch.path)
        #expect(train.labels == [1, 2, 3, 4, 5] && test.labels == [9])
        #expect(train.classNames[9] == "p9" && train.classNames.count == 10)
    }

    @Test func cifar100Directory() throws {
        let scratch = ScratchDirectory()
        scratch.write("train.bin", CIFARReaderTests.record(labels: [1, 55], red: 0, blue: 0))
        scratch.write("test.bin", CIFARReaderTests.record(labels: [2, 66], red: 0, blue: 0))
        let (train, test) = try ImageDatasetLocator.locate(scratch.path)
        #expect(train.labels == [55] && test.labels == [66] && train.classNames.count == 100)
    }

    @Test func errorsSayWhatWasLookedFor() throws {
        let scratch = ScratchDirectory()
        let message = failure { _ = try ImageDatasetLocator.locate(scratch.path) }
        #expect(message?.contains("train-images-idx3-ubyte") == true && message?.contains("data_batch_1.bin") == true)
        #expect(failure { _ = try ImageDatasetLocator.locate("/nonexistent/data") }?.contains("neither a known data set name") == true)
        setenv("ATELIER_MNIST", scratch.path + "/missing", 1)
        defer { unsetenv("ATELIER_MNIST") }
        #expect(failure { _ = try ImageDatasetLocator.locate("mnist") }?.contains("/missing") == true)
    }
}
