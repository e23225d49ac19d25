import Foundation
import Testing

@testable import Datasets

@Suite struct TextCorpusTests {
    private func error(_ body: () throws -> Void) -> DatasetError? {
        do {
            try body()
            return nil
        } catch {
            return error as? DatasetError
        }
    }

    @Test func filesAreJoinedInOrderWithANewlineWhereOneIsMissing() throws {
        let scratch = try DatasetScratch()
        defer { scratch.remove() }
        let a = try scratch.write("a.txt", Array("first".utf8))
        let b = try scratch.write("b.txt", Array("second\n".utf8))
        let empty = try scratch.write("empty.txt", [])
        let c = try scratch.write("c.txt", Array("héllo 😀".utf8))
        let corpus = try TextCorpus(files: [a, b, empty, c])
        #expect(String(decoding: corpus.bytes, as: UTF8.self) == "first\nsecond\nhéllo 😀")
        #expect(corpus.sources == [a, b, empty, c])
        // The given order, not the names' order; no newline is added after the last file.
        let reversed = try TextCorpus(files: [c, a])
        #expect(String(decoding: reversed.bytes, as: UTF8.self) == "héllo 😀\nfirst")
    }

    @Test func missingFilesDirectoriesAndEmptyCorporaAreRefused() throws {
        let scratch = try DatasetScratch()
        defer { scratch.remove() }
        let missing = scratch.path + "/missing.txt"
        #expect(error { _ = try TextCorpus(files: [missing]) } == .fileNotFound(missing))
        #expect(error { _ = try TextCorpus(files: [scratch.path]) } == .notRegularFile(path: scratch.path, kind: "a directory"))
        let empty = try scratch.write("empty.txt", [])
        #expect(error { _ = try TextCorpus(files: [empty, empty]) } == .emptyCorpus(sources: [empty, empty]))
        #expect(error { _ = try TextCorpus(files: []) } == .emptyCorpus(sources: []))
        #expect("\(DatasetError.notRegularFile(path: "/d", kind: "a directory"))" == "/d is a directory, not a regular file")
        #expect("\(DatasetError.fileNotFound("/x/y.txt"))" == "/x/y.txt: no such file")
    }

    @Test func aNamedPipeIsRefusedWithoutWaitingForAWriter() throws {
        let scratch = try DatasetScratch()
        defer { scratch.remove() }
        let fifo = scratch.path + "/fifo"
        #expect(mkfifo(fifo, 0o644) == 0)
        #expect(error { _ = try TextCorpus(files: [fifo]) } == .notRegularFile(path: fifo, kind: "a named pipe"))
    }

    @Test(arguments: [
        ([UInt8]("hello".utf8) + [0] + Array("world".utf8), 5, "a NUL byte"),
        ([0x68, 0xE9, 0x6C, 0x6C, 0x6F], 1, "an invalid UTF-8 sequence"),  // Latin-1 "héllo"
        ([0x61, 0xC0, 0x80], 1, "byte 0xc0, which cannot start a UTF-8 character"),  // overlong NUL
        ([0x61, 0x62, 0xED, 0xA0, 0x80], 2, "an invalid UTF-8 sequence"),  // surrogate U+D800
        ([0x61, 0xF4, 0x90, 0x80, 0x80], 1, "an invalid UTF-8 sequence"),  // U+110000
        ([0x61, 0x62, 0x63, 0x80], 3, "byte 0x80, which cannot start a UTF-8 character"),  // lone continuation
        (Array("0123456789abcdef".utf8) + [0xF0, 0x9F, 0x98], 16, "a UTF-8 character cut off by the end of the file"),
    ])
    func binaryFilesAreReportedWithTheFirstOffendingByte(bytes: [UInt8], offset: Int, reason: String) throws {
        let scratch = try DatasetScratch()
        defer { scratch.remove() }
        let good = try scratch.write("good.txt", Array("fine\n".utf8))
        let bad = try scratch.write("bad.bin", bytes)
        // The offset is within the offending file, not within the joined corpus.
        #expect(error { _ = try TextCorpus(files: [good, bad]) } == .binaryFile(path: bad, offset: offset, reason: reason))
    }

    @Test func validationAgreesWithFoundationOnEveryTwoByteSequence() {
        // Every 2-byte string after "ab": a reference decoder must accept exactly what ours accepts.
        for first in 0...255 {
            for second in 0...255 {
                let bytes: [UInt8] = [0x61, 0x62, UInt8(first), UInt8(second)]
                let ours = bytes.withUnsafeBytes { TextValidation.firstProblem(in: $0) } == nil
                let reference = String(data: Data(bytes), encoding: .utf8) != nil && !bytes.contains(0)
                #expect(ours == reference, "bytes \(bytes)")
            }
        }
    }

    @Test func filesOverTheLimitAreRefusedBeforeReading() throws {
        let scratch = try DatasetScratch()
        defer { scratch.remove() }
        let eleven = try scratch.write("eleven.txt", Array("hello world".utf8))
        #expect(error { _ = try TextCorpus(files: [eleven], maxFileBytes: 10) } == .fileTooLarge(path: eleven, bytes: 11, limit: 10))
        // Two files within the limit alone, over it together (with the separator).
        let six = try scratch.write("six.txt", Array("sixsix".utf8))
        #expect(error { _ = try TextCorpus(files: [six, six], maxFileBytes: 12) } == .corpusTooLarge(bytes: 13, limit: 12))
        // A 3 GiB sparse file against the default 2 GiB limit: refused from its size alone.
        let sparse = scratch.path + "/sparse.txt"
        let fd = open(sparse, O_WRONLY | O_CREAT, 0o644)
        #expect(fd >= 0)
        #expect(ftruncate(fd, 3 << 30) == 0)
        close(fd)
        #expect(TextCorpus.defaultMaxFileBytes == 2_147_483_648)
        #expect(error { _ = try TextCorpus(files: [sparse]) } == .fileTooLarge(path: sparse, bytes: 3 << 30, limit: 2 << 30))
    }

    private func corpus(_ text: String) throws -> TextCorpus {
        let scratch = try DatasetScratch()
        defer { scratch.remove() }
        return try TextCorpus(files: [try scratch.write("c.txt", Array(text.utf8))])
    }

    @Test func splitTakesTheLastFractionAsValidation() throws {
        // nanoGPT: train = data[:int(n * 0.9)], val = data[int(n * 0.9):].
        let ten = try corpus("0123456789")
        let (train, validation) = try ten.split(validationFraction: 0.1)
        #expect(String(decoding: train, as: UTF8.self) == "012345678")
        #expect(String(decoding: validation, as: UTF8.self) == "9")
        let thousand = try corpus(String(repeating: "x", count: 997) + "end")
        let quarter = try thousand.split(validationFraction: 0.25)
        #expect(quarter.train.count == 750)
        #expect(quarter.validation.count == 250)
        #expect(String(decoding: quarter.validation.suffix(3), as: UTF8.self) == "end")
        // int(7 * (1 - 0.3)) = int(4.8999…) = 4
        let seven = try corpus("abcdefg").split(validationFraction: 0.3)
        #expect(String(decoding: seven.train, as: UTF8.self) == "abcd")
        #expect(String(decoding: seven.validation, as: UTF8.self) == "efg")
    }

    @Test func splitRefusesBadFractionsAndEmptyParts() throws {
        let ten = try corpus("0123456789")
        for fraction in [0, 1, -0.1, 1.5, Double.nan, Double.infinity] {
            let thrown = error { _ = try ten.split(validationFraction: fraction) }
            if case .invalidValidationFraction = thrown {} else { Issue.record("fraction \(fraction): \(String(describing: thrown))") }
        }
        let one = try corpus("a")
        #expect(
            error { _ = try one.split(validationFraction: 0.1) } == .emptySplit(part: "training", corpusBytes: 1, validationFraction: 0.1))
        // 10 × (1 − 1e-17) rounds to 10: nothing is left for validation.
        #expect(
            error { _ = try ten.split(validationFraction: 1e-17) }
                == .emptySplit(part: "validation", corpusBytes: 10, validationFraction: 1e-17))
        #expect(
            "\(DatasetError.invalidValidationFraction(1.5))" == "validation fraction 1.5: expected a number greater than 0 and less than 1")
    }

    @Test func requireLengthNamesThePart() throws {
        try TextCorpus.requireLength(3, of: [1, 2, 3], for: "validation")
        #expect(
            error { try TextCorpus.requireLength(4, of: [1, 2, 3], for: "validation") }
                == .tooShort(part: "validation", bytes: 3, needed: 4))
        #expect(
            "\(DatasetError.tooShort(part: "validation", bytes: 3, needed: 4))"
                == "the validation part is 3 bytes; it must hold at least 4 bytes")
    }

    @Test func dataArgumentsNameFilesOrABuiltInDataset() throws {
        #expect(BuiltInDataset.named("shakespeare") == .shakespeare)
        #expect(BuiltInDataset.named("Shakespeare") == .shakespeare)
        #expect(BuiltInDataset.named("tinystories") == nil)
        #expect(BuiltInDataset.names == ["shakespeare"])
        let scratch = try DatasetScratch()
        defer { scratch.remove() }
        let first = try scratch.write("one.txt", Array("one".utf8))
        let second = try scratch.write("two.txt", Array("two".utf8))
        let corpus = try TextCorpus(data: [first, second], home: scratch.path + "/home")
        #expect(String(decoding: corpus.bytes, as: UTF8.self) == "one\ntwo")
        #expect(error { _ = try TextCorpus(data: ["no-such-file.txt"]) } == .fileNotFound("no-such-file.txt"))
    }
}
